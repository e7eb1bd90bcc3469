-- Argo CD health check for migrations.llmops.dev/ProviderMigration.
-- Install under argocd-cm `resource.customizations.health.migrations.llmops.dev_ProviderMigration`
-- (docs/argocd.md explains each mapping, and why a waiting approval gate reports Suspended).
local hs = {}

-- "Progressing (50% on target): <status.message or status.reason>"
local function describe(status)
  local text = status.phase
  if status.currentWeight ~= nil then
    text = text .. string.format(" (%d%% on target)", math.floor(status.currentWeight))
  end
  local detail = status.message or status.reason
  if detail ~= nil and detail ~= "" then
    text = text .. ": " .. detail
  end
  return text
end

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick up the migration"
  return hs
end

-- A status written for an older spec says nothing about the current one.
local generation = obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = string.format("Waiting for the operator to observe generation %d", math.floor(generation))
  return hs
end

local phase = status.phase
if phase == "Succeeded" then
  hs.status = "Healthy"
elseif phase == "Pending" or phase == "Initializing" or phase == "Evaluating" or phase == "Progressing"
    or phase == "Stabilizing" or phase == "RollingBack" then
  hs.status = "Progressing"
elseif phase == "AwaitingApproval" or phase == "Paused" then
  -- Waiting for a person, not for the operator: Suspended, as Argo CD reports a paused Rollout.
  hs.status = "Suspended"
elseif phase == "Blocked" or phase == "Failed" or phase == "RolledBack" then
  hs.status = "Degraded"
else
  hs.status = "Unknown"
  hs.message = "Unrecognised phase " .. tostring(phase) .. " (is the health check older than the operator?)"
  return hs
end
hs.message = describe(status)
return hs
