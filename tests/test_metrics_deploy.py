"""Metrics in production: gunicorn's workers add up in one scrape (deploy/gunicorn.conf.py),
the shipped Prometheus files name only metrics that exist."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.server import ROOT, gunicorn, post_json

PROMETHEUS = os.path.join(ROOT, "deploy", "prometheus")
STREAMS = "booking_event_streams_open"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def worker_pids(metrics_dir) -> set[str]:
    return {re.sub(r"\D", "", name) for name in os.listdir(metrics_dir)
            if name.startswith("counter_")}


@pytest.mark.server
def test_one_scrape_adds_up_every_worker(ctx, floor, database_url, instance_dir, tmp_path):
    ctx.rollback()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over from an earlier run")
    healthz = {"endpoint": "citizen.healthz", "method": "GET", "status": "2xx"}
    with gunicorn(database_url, instance_dir, workers=4, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
                  REALTIME_HEARTBEAT_SECONDS="0.5") as base:
        assert "1" not in worker_pids(metrics_dir)  # the master started afresh
        before = samples(fetch(base + "/metrics"))
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            while len(worker_pids(metrics_dir)) < 3 and sent < 2000:
                list(pool.map(lambda _: fetch(base + "/healthz"), range(40)))
                sent += 40
        assert len(worker_pids(metrics_dir)) >= 3  # the requests went to several workers
        for _ in range(5):
            assert post_json(base + "/api/v1/offices/amt/tickets", {"service": "pass"})[0] == 201

        stream = urllib.request.urlopen(base + "/offices/amt/display/events", timeout=30)
        assert stream.read(5) == b"retry"
        scrapes = [samples(fetch(base + "/metrics")) for _ in range(8)]  # by several workers
        after = scrapes[-1]
        assert value(after, "booking_http_requests_total", **healthz) \
            == value(before, "booking_http_requests_total", **healthz) + sent
        assert value(after, "booking_queue_tickets_total", office="amt", kind="walk_in") \
            == value(before, "booking_queue_tickets_total", office="amt", kind="walk_in") + 5
        assert value(after, "booking_queue_waiting_tickets", office="amt") == 5
        assert all(value(s, STREAMS, endpoint="display.board_events") == 1 for s in scrapes)
        stream.close()  # the worker notices at its next ping, and the gauge drops
        deadline = time.monotonic() + 20
        while value(samples(fetch(base + "/metrics")), STREAMS,
                    endpoint="display.board_events") != 0:
            assert time.monotonic() < deadline, "the closed stream is still counted"
            time.sleep(0.2)
        port = base.rsplit(":", 1)[1]
    with open(instance_dir / f"gunicorn-{port}.log", encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "booking.request"]
    assert len(requests) >= sent + 5  # production logs JSON lines, one per request
    assert all(re.fullmatch(r"[0-9a-f]{32}", line["request_id"]) for line in requests)
    assert len({line["request_id"] for line in requests}) == len(requests)


# ---------------------------------------------------------------- the Prometheus files


def defined_names(client) -> set[str]:
    """Every series name /metrics can show (labelled metrics without a value yet have
    their HELP and TYPE lines)."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"],
                "gauge": [""]}
    text = client.get("/metrics").get_data(as_text=True)
    return {family.name + suffix for family in text_string_to_metric_families(text)
            for suffix in suffixes[family.type]}


def rules() -> list[dict]:
    with open(os.path.join(PROMETHEUS, "buergerbuero-alerts.yml"), encoding="utf-8") as fh:
        document = yaml.safe_load(fh)
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_alert_rules_use_only_metrics_the_app_exports(client, floor):
    names = defined_names(client)
    used = set()
    for rule in rules():
        assert set(rule) >= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in {"warning", "critical"}
        found = set(re.findall(r"\bbooking_[a-z_]+\b", rule["expr"]))
        assert found, rule["alert"]
        assert found <= names, found - names
        used |= found
    assert {"booking_outbox_pending", "booking_outbox_oldest_pending_age_seconds",
            "booking_http_requests_total", "booking_queue_waiting_tickets",
            "booking_queue_last_call_timestamp_seconds"} <= used


def test_the_scrape_config_loads_the_rules_and_sends_the_token():
    with open(os.path.join(PROMETHEUS, "prometheus.yml"), encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    assert all(os.path.exists(os.path.join(PROMETHEUS, name)) for name in config["rule_files"])
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["static_configs"][0]["targets"]
