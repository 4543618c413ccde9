"""Console test helpers: a cookie-keeping client of the app (over https, as the
session cookie is Secure) and signing in with the code the fake Twilio received."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx

from tests.paging import Paging

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
CODE = re.compile(r"code: (\d{6})\.")


@contextlib.asynccontextmanager
async def console_client(paging: Paging) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the app: keeps cookies, sends no bearer token."""
    transport = httpx.ASGITransport(app=paging.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://klaxon.test") as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def last_code(paging: Paging, phone: str) -> str:
    texts = paging.texts_to(phone)
    codes = [m.group(1) for t in texts if (m := CODE.search(t))]
    assert codes, f"no code texted to {phone}: {texts}"
    return codes[-1]


async def ask_code(client: httpx.AsyncClient, phone: str) -> httpx.Response:
    page = await client.get("/signin")
    return await client.post("/signin", data={"csrf": csrf_of(page), "phone": phone})


async def enter_code(client: httpx.AsyncClient, phone: str, code: str) -> httpx.Response:
    page = await client.get("/signin/code", params={"phone": phone})
    return await client.post(
        "/signin/code", data={"csrf": csrf_of(page), "phone": phone, "code": code, "next": "/"}
    )


async def sign_in(client: httpx.AsyncClient, paging: Paging, phone: str) -> None:
    """Sign in as the responder of ``phone``: ask, let the engine send, type the code."""
    asked = await ask_code(client, phone)
    assert asked.status_code == 303, asked.text
    await paging.tick()
    done = await enter_code(client, phone, last_code(paging, phone))
    assert done.status_code == 303 and done.headers["location"] == "/", done.text
