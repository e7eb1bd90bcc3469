"""Names shared by the CRD, the controller and the CLI."""

GROUP = "migrations.llmops.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "ProviderMigration"
PLURAL = "providermigrations"
SINGULAR = "providermigration"
SHORT_NAMES = ["pmig"]
CRD_NAME = f"{PLURAL}.{GROUP}"
FIELD_MANAGER = "provider-migration-operator"
# Content type of a server-side apply (every object the operator owns is applied under FIELD_MANAGER).
APPLY_PATCH = "application/apply-patch+yaml"

# Commands are annotations whose value is a request id; status records the last one handled.
ANNOTATION_PREFIX = f"{GROUP}/"
COMMANDS = ("promote", "abort", "approve", "retry")


def command_annotation(command: str) -> str:
    return f"{ANNOTATION_PREFIX}{command}"


# Who sent a command: the user the API server authenticated, stamped by the chart's MutatingAdmissionPolicy
# whenever the command annotation (or spec.paused, for "paused") changes; a client's own value is replaced.
AUTHORED = (*COMMANDS, "paused")


def author_annotation(command: str) -> str:
    return f"{ANNOTATION_PREFIX}{command}-by"


# Pod-template annotation bumped on the gateway Deployment when a file-configured gateway must reload.
CONFIG_HASH_ANNOTATION = f"{GROUP}/config-hash"

# Templates: a rollout policy written once (api/template.py).
TEMPLATE_KIND = "MigrationTemplate"
TEMPLATE_PLURAL = "migrationtemplates"
TEMPLATE_SHORT_NAMES = ["mtpl"]
CLUSTER_TEMPLATE_KIND = "ClusterMigrationTemplate"
CLUSTER_TEMPLATE_PLURAL = "clustermigrationtemplates"
CLUSTER_TEMPLATE_SHORT_NAMES = ["cmtpl"]
TEMPLATE_PLURALS = {TEMPLATE_KIND: TEMPLATE_PLURAL, CLUSTER_TEMPLATE_KIND: CLUSTER_TEMPLATE_PLURAL}
