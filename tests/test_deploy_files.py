"""The shipped deployment files keep the safe defaults: the image runs in production mode,
nobody trusts every X-Forwarded-For, and nginx sets that header itself and closes slow
clients."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from failcast.config import parse_metrics_backend

ROOT = Path(__file__).resolve().parent.parent


def _nginx_locations(text: str) -> dict[str, str]:
    return dict(re.findall(r"location\s+(\S+)\s*\{(.*?)\n    \}", text, flags=re.S))


def test_the_image_runs_in_production_mode_and_trusts_no_forwarder_blindly() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ENV FAILCAST_ENV=production", dockerfile, flags=re.M)
    shipped = [ROOT / "Dockerfile", ROOT / "docker-compose.yml", ROOT / "deploy" / "deploy.sh"]
    shipped += sorted((ROOT / "deploy" / "systemd").iterdir())
    for path in shipped:
        text = path.read_text()
        assert not re.search(r"forwarded.allow.ips[\"',=:\s]+\*", text, flags=re.I), path


def test_compose_trusts_exactly_the_nginx_address() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    trusted = compose["x-failcast"]["environment"]["FAILCAST_FORWARDED_ALLOW_IPS"]
    nginx = compose["services"]["nginx"]["networks"]["default"]["ipv4_address"]
    assert trusted == nginx
    assert compose["x-failcast"]["environment"]["FAILCAST_ENV"] == "production"


def test_compose_keeps_samples_in_its_victoriametrics() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    backend = compose["x-failcast"]["environment"]["FAILCAST_METRICS_BACKEND"]
    engine = parse_metrics_backend(backend)
    assert engine is not None and engine.kind == "victoriametrics"
    service = compose["services"]["victoriametrics"]
    assert engine.write_url == "http://victoriametrics:8428/api/v1/write"
    assert "-storageDataPath=/storage" in service["command"]
    assert service["volumes"] == ["vmdata:/storage"]
    assert "vmdata" in compose["volumes"]
    assert compose["x-failcast"]["depends_on"]["victoriametrics"] == {
        "condition": "service_healthy"
    }


def test_nginx_replaces_the_clients_forwarded_for_in_every_location() -> None:
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "$proxy_add_x_forwarded_for" not in text
    locations = _nginx_locations(text)
    proxied = {path: body for path, body in locations.items() if "proxy_pass" in body}
    assert set(proxied) == {"/api/v1/stream", "/_nicegui", "/"}
    for path, body in proxied.items():
        # A location that sets any header inherits none from the server block.
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in body, path
        assert "proxy_set_header Host $host;" in body, path
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in body, path


def test_nginx_closes_slow_clients() -> None:
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for directive in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        match = re.search(rf"^\s*{directive}\s+(\d+)s;", text, flags=re.M)
        assert match and int(match.group(1)) <= 60, directive
