"""The dashboard each node serves, loaded in headless Chromium (Debian's chromium and
chromium-driver, driven by python3-selenium): it shows the cluster, and after the leader is killed
it shows the new leader and the old one as down. A screenshot is kept as a test artifact."""
import json
import os
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from conftest import BIN, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = os.environ.get("BELLWETHER_ARTIFACTS",
                           os.path.join(os.path.dirname(BIN), "test-artifacts"))


@pytest.fixture
def browser():
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900"):
        opts.add_argument(a)
    opts.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def metrics_cluster(cluster_factory):
    return cluster_factory(3, metrics=True)


def url(node, path):
    return f"http://127.0.0.1:{node.metrics_port}{path}"


def api(node):
    with urllib.request.urlopen(url(node, "/api/cluster"), timeout=5) as r:
        assert r.headers["Content-Type"].startswith("application/json")
        return json.load(r)


def test_api_cluster_lists_every_node_and_the_leader(cluster_factory):
    c = metrics_cluster(cluster_factory)
    leader = c.wait_for_leader()
    follower = next(n for n in c.nodes if n is not leader)
    doc = wait_until(lambda: (d := api(follower)) and d.get("leader") and d, what="api leader")
    assert doc["self"] == str(follower.id)
    assert doc["leader"]["id"] == str(leader.id)
    assert sorted(n["id"] for n in doc["nodes"]) == ["1", "2", "3"]
    assert all(n["state"] == "up" for n in doc["nodes"])
    leader.client().set("k", "v")
    doc = api(follower)
    row = next(n for n in doc["nodes"] if n["id"] == str(leader.id))
    assert row["role"] == "leader" and row["commands_total"] >= 1
    assert row["commands"]["set"]["calls"] >= 1  # INFO commandstats of the leader
    assert row["commands"]["set"]["p50"] > 0


def leader_shown(driver):
    return driver.find_element(By.ID, "leader").get_attribute("data-leader-id")


def role_shown(driver, node_id):
    rows = driver.find_elements(By.CSS_SELECTOR, f"#nodes tbody tr[data-node-id='{node_id}']")
    return rows[0].get_attribute("data-role") if rows else None


def test_page_follows_a_failover(cluster_factory, browser):
    c = metrics_cluster(cluster_factory)
    leader = c.wait_for_leader()
    follower = next(n for n in c.nodes if n is not leader)
    browser.get(url(follower, "/"))
    assert "Bellwether" in browser.title
    wait_until(lambda: leader_shown(browser) == str(leader.id), timeout=20,
               what="the page to show the leader")
    client = follower.client()
    for i in range(50):  # something for the throughput chart
        client.set(f"key{i}", i)

    leader.kill()
    new_leader = c.wait_for_leader(exclude=(leader.id,))
    wait_until(lambda: leader_shown(browser) == str(new_leader.id), timeout=30,
               what="the page to show the new leader")
    wait_until(lambda: role_shown(browser, leader.id) == "down", timeout=30,
               what="the page to show the old leader down")
    body = browser.find_element(By.ID, "leader").text
    assert f"node {new_leader.id}" in body
    # A member that is down has no figures: the page says "?", never "NaN" or "undefined".
    wait_until(lambda: "?" in browser.find_element(By.ID, "throughput-legend").text,
               what="the down node's throughput shown as unknown")
    page_text = browser.find_element(By.TAG_NAME, "body").text
    assert "NaN" not in page_text and "undefined" not in page_text
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, "dashboard.png")
    assert browser.save_screenshot(path)
    assert os.path.getsize(path) > 0
    print(f"dashboard screenshot: {path}")
