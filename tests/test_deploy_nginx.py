"""The shipped nginx configuration, run for real in front of Failcast: a client's own
X-Forwarded-For does not reach Failcast, so it cannot reset the sign-in limit or choose the
address Failcast records. Skipped where nginx is not installed (CI installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from factories import PASSWORD, free_port, serving

from failcast.config import Settings

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
LIMIT = 4

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def _self_signed(directory: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(directory / "privkey.pem"),
         "-out", str(directory / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip


def render(upstream_port: int, http_port: int, https_port: int, tmp: Path) -> str:
    """deploy/nginx.conf as envsubst renders it, on unprivileged ports, with a test
    certificate, inside a minimal main configuration."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = site.replace("${FAILCAST_DOMAIN}", "localhost")
    site = site.replace("${UPSTREAMS}", f"server 127.0.0.1:{upstream_port};")
    site = site.replace("/etc/letsencrypt/live/localhost/", f"{tmp}/")
    site = re.sub(r"^\s*listen \[::\].*$", "", site, flags=re.M)  # loopback IPv4 is enough
    site = site.replace("listen 80;", f"listen {http_port};")
    site = site.replace("listen 443 ", f"listen {https_port} ")
    # nginx reaches Failcast from 127.0.0.2 and the client comes from 127.0.0.3, so that the
    # proxy's address, the client's and a claimed one can be told apart.
    site = site.replace(
        "proxy_http_version 1.1;", "proxy_http_version 1.1;\n    proxy_bind 127.0.0.2;"
    )
    temp = "\n".join(
        f"    {kind}_temp_path {tmp}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"worker_processes 1;\ndaemon off;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
        f"events {{}}\nhttp {{\n    access_log off;\n{temp}\n{site}\n}}\n"
    )


@pytest.fixture
def through_nginx(settings: Settings, tmp_path: Path) -> Iterator[str]:
    proxied = settings.model_copy(
        update={"auth_rate_limit": LIMIT, "forwarded_allow_ips": ["127.0.0.2"],
                "dashboard_enabled": False}
    )  # fmt: skip
    with serving(proxied) as app_url:
        app_port = int(app_url.rsplit(":", 1)[1])
        http_port, https_port = free_port(), free_port()
        _self_signed(tmp_path)
        config = tmp_path / "nginx.conf"
        config.write_text(render(app_port, http_port, https_port, tmp_path))
        assert NGINX is not None
        checked = subprocess.run(
            [NGINX, "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr
        proxy = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"https://127.0.0.1:{https_port}"
            deadline = time.monotonic() + 10
            while True:
                try:
                    httpx.get(f"{url}/health", verify=False, timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or proxy.poll() is not None:
                        raise
                    time.sleep(0.05)
            yield url
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)


def test_a_spoofed_header_through_nginx_does_not_reset_the_limit(through_nginx: str) -> None:
    client = httpx.HTTPTransport(local_address="127.0.0.3", verify=False)
    with httpx.Client(
        base_url=through_nginx, transport=client, headers={"Host": "localhost"}, timeout=60
    ) as http:
        statuses = [
            http.post(
                "/api/v1/login",
                json={"email": f"nobody{i}@example.com", "password": "not the password"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status_code
            for i in range(LIMIT + 2)
        ]
        assert statuses == [401] * LIMIT + [429] * 2
        registered = http.post(
            "/api/v1/register",
            json={"email": "someone@example.com", "password": PASSWORD, "org_name": "A"},
            headers={"X-Forwarded-For": "203.0.113.50"},
        ).json()
        sessions = http.get(
            "/api/v1/sessions",
            headers={"Authorization": f"Bearer {registered['access_token']}"},
        ).json()
    # nginx replaced the header with the address it saw: this client's, neither the claimed
    # one nor nginx's own.
    assert [s["ip"] for s in sessions] == ["127.0.0.3"]
