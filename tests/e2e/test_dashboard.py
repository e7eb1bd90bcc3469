"""`pmo dashboard` in a real headless browser (Debian's chromium through chromedriver) against the real API
server and operator: the page shows a running migration live, a button press changes its state (no reload),
and a user whose RBAC refuses the command sees the API server's reason. Screenshots go to build/."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_support import create_litellm_world, get_migration, migration, phase_of, wait_for
from test_command_authors import service_account_kubeconfig
from test_controller import create
from test_report import gateway  # noqa: F401 - the LiteLLM-metrics fixture

from provider_migration.api import constants as c

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "build"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1400,1100")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


class DashboardProcess:
    def __init__(self, kubeconfig: Path, namespace: str, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "provider_migration.cli.main", "dashboard", "--kubeconfig", str(kubeconfig),
             "-n", namespace, "--port", "0", "--no-browser"],
            stdout=subprocess.PIPE, stderr=log.open("wb"), text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"(http://\S+)", line)
        assert found, f"no URL in {line!r}: {log.read_text()}"
        self.url = found.group(1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Callable[[Path, str], DashboardProcess]]:
    started: list[DashboardProcess] = []

    def start(kubeconfig: Path, namespace: str) -> DashboardProcess:
        started.append(DashboardProcess(kubeconfig, namespace, tmp_path / f"dashboard-{len(started)}.log"))
        return started[-1]

    yield start
    for d in started:
        d.stop()


def test_dashboard_shows_a_live_migration_and_its_buttons_act_as_the_user(  # type: ignore[no-untyped-def]
    kube, control_plane, namespace, operator, command_authors, browser, dashboard, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    create_litellm_world(kube, namespace)
    rbac = client.RbacAuthorizationV1Api(kube)
    rbac.create_namespaced_role(
        namespace,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="migration-user"),
            rules=[client.V1PolicyRule(api_groups=[c.GROUP], resources=[c.PLURAL], verbs=["get", "list", "watch"])],
        ),
    )
    viewer = service_account_kubeconfig(kube, control_plane, namespace, "viewer", tmp_path)  # may not patch
    steps = [{"weight": 10, "pause": "1s"}, {"approval": {}}, {"weight": 50, "pause": "2s"}, {"weight": 100}]
    create(kube, namespace, migration("to-claude", strategy={"type": "Phased", "steps": steps}))
    wait_for(lambda: phase_of(kube, namespace, "to-claude") == "AwaitingApproval", 60, "AwaitingApproval")

    def card() -> Any:
        return browser.find_element(By.CSS_SELECTOR, f'[data-migration="{namespace}/to-claude"]')

    def shown_phase() -> str:
        try:
            return str(card().find_element(By.CSS_SELECTOR, '[data-role="phase"]').text)
        except Exception:  # the card is re-rendered on every change: a stale element just means "look again"
            return ""

    # The viewer sees it, but the API server refuses the approval: the page says why, in its words.
    browser.get(dashboard(viewer, namespace).url)
    wait_for(lambda: shown_phase() == "AwaitingApproval", 30, "the page shows the gate")
    card().find_element(By.CSS_SELECTOR, '[data-command="approve"]').click()
    notice = browser.find_element(By.ID, "notice")
    wait_for(lambda: "forbidden" in notice.text, 15, "the API server's refusal on the page")
    assert f'"system:serviceaccount:{namespace}:viewer" cannot patch resource "providermigrations"' in notice.text
    assert card().find_element(By.CSS_SELECTOR, '[data-command="abort"]').is_enabled()
    assert not card().find_element(By.CSS_SELECTOR, '[data-command="retry"]').is_enabled(), "refused in this phase"
    SHOTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(SHOTS / "dashboard-refused.png"))
    assert phase_of(kube, namespace, "to-claude") == "AwaitingApproval"

    # The admin's dashboard: approve, and the page follows the migration to the end without a reload.
    browser.get(dashboard(Path(control_plane.kubeconfig), namespace).url)
    wait_for(lambda: shown_phase() == "AwaitingApproval", 30, "the page shows the gate")
    browser.save_screenshot(str(SHOTS / "dashboard-awaiting-approval.png"))
    browser.execute_script("window.notReloaded = true")
    card().find_element(By.CSS_SELECTOR, '[data-command="approve"]').click()
    wait_for(lambda: "approve sent" in browser.find_element(By.ID, "notice").text, 15, "approve sent")
    wait_for(lambda: shown_phase() in ("Progressing", "Stabilizing", "Succeeded"), 30, "the page shows it moving on")
    browser.save_screenshot(str(SHOTS / "dashboard-progressing.png"))
    wait_for(lambda: shown_phase() == "Succeeded", 90, "the page shows Succeeded")
    assert browser.execute_script("return window.notReloaded") is True, "updated live, not by a reload"
    history = card().find_element(By.CSS_SELECTOR, '[data-role="history"]')
    approved = history.find_element(By.CSS_SELECTOR, '[data-reason="Approved"] .by')
    assert approved.text == "admin", "who approved, as the API server authenticated them"
    assert card().find_element(By.CSS_SELECTOR, '[data-role="weights"]').is_displayed()
    browser.save_screenshot(str(SHOTS / "dashboard-succeeded.png"))
    status = get_migration(kube, namespace, "to-claude")["status"]
    assert [h.get("by") for h in status["history"] if h["reason"] == "Approved"] == ["admin"]


@pytest.mark.usefixtures("gateway")
def test_dashboard_shows_each_criterion_against_its_threshold(  # type: ignore[no-untyped-def]
    kube, control_plane, namespace, operator, command_authors, prometheus, browser, dashboard
) -> None:
    """With Prometheus and LiteLLM-style metrics: the last analysis, criterion by criterion, live."""
    from selenium.webdriver.common.by import By

    analysis = {
        "prometheus": {"url": prometheus.url, "timeout": "5s"},
        "metrics": "litellm",
        "interval": "5s",
        "minSamples": 5,
        "baseline": {"window": "20s"},
    }
    steps = [{"weight": 10, "pause": "5s"}, {"weight": 50, "pause": "5s"}, {"approval": {}}, {"weight": 100}]
    body = migration("support-bot-to-claude", analysis=analysis, strategy={"type": "Phased", "steps": steps})
    create(kube, namespace, body)

    def analysed_at_gate() -> bool:
        status = get_migration(kube, namespace, "support-bot-to-claude").get("status") or {}
        return status.get("phase") == "AwaitingApproval" and bool((status.get("lastAnalysis") or {}).get("criteria"))

    try:
        wait_for(analysed_at_gate, 240, "an analysed migration at its approval gate")
    except AssertionError:
        status = get_migration(kube, namespace, "support-bot-to-claude").get("status") or {}
        raise AssertionError(f"{status.get('phase')}: {status.get('message')}; {status.get('history')}") from None
    browser.get(dashboard(Path(control_plane.kubeconfig), namespace).url)
    card = f'[data-migration="{namespace}/support-bot-to-claude"]'

    def rows() -> dict[str, list[str]]:
        try:
            table = browser.find_element(By.CSS_SELECTOR, f'{card} [data-role="criteria"]')
            cells = [
                [td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in table.find_elements(By.TAG_NAME, "tr")
            ]
        except Exception:  # re-rendered while read: look again
            return {}
        return {r[0]: r[1:] for r in cells if r}

    wait_for(lambda: "errorRate" in rows(), 30, "the criteria table")
    status = get_migration(kube, namespace, "support-bot-to-claude")["status"]
    for criterion in status["lastAnalysis"]["criteria"]:
        value, threshold, verdict = rows()[criterion["name"]]
        assert verdict == criterion["verdict"]
        assert (value == "-") == (criterion.get("value") is None)
        assert threshold != "-" or criterion.get("threshold") is None
    SHOTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(SHOTS / "dashboard-analysis.png"))
