"""The CLI's HTTP client: where the server is, how to authenticate, and how errors look."""

from __future__ import annotations

from typing import Any, NoReturn

import httpx
import typer

from failcast.config import ClientSettings


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


class ApiClient:
    """A thin wrapper over httpx that turns Failcast's error bodies into readable exits."""

    def __init__(self, url: str | None = None, api_key: str | None = None) -> None:
        settings = ClientSettings().with_file()
        self.url = (url or settings.url).rstrip("/")
        key = api_key or settings.api_key
        if not key:
            fail(
                "no API key: pass --api-key, set FAILCAST_API_KEY, or put api_key in "
                f"{settings.config_file}"
            )
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=60.0
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The server's answer, whatever its status; an exit when the server is unreachable."""
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach {self.url}: {exc}")

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.send(method, path, **kwargs)
        if response.status_code >= 400:
            fail(f"{response.status_code} from {path}: {error_detail(response)}")
        return response.json() if response.content else None


def error_detail(response: httpx.Response) -> Any:
    """The `detail` of a Failcast error body, or the body's text."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    return body.get("detail", body) if isinstance(body, dict) else body
