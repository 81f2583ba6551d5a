"""Property tests over the routes: whatever is sent, never a 500 and never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.remote.server.asgi import BEACON, TestClient, make_client, quiet_limits

TOKEN = "fuzz-token-0123456789abcdef"

ROUTES = [
    ("POST", "/api/rtt/beacon"),
    ("POST", "/api/rtt/beacons"),
    ("POST", "/api/rtt/profile/{site}"),
    ("GET", "/api/rtt/profile/{site}"),
    ("POST", "/api/rtt/validate"),
    ("POST", "/api/rtt/corridor"),
    ("POST", "/api/rtt/topology"),
    ("GET", "/api/rtt/status"),
    ("GET", "/metrics"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("PUT", "/api/rtt/beacon"),
    ("DELETE", "/api/rtt/profile/{site}"),
    ("GET", "/api/rtt/{site}"),
]
EXPECTED = {200, 400, 401, 404, 405, 413, 415}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def beacon_like(draw: st.DrawFn) -> dict[str, Any]:
    """A beacon with some keys dropped, replaced by any JSON value, or added."""
    record: dict[str, Any] = dict(BEACON)
    for key in draw(st.lists(st.sampled_from([*BEACON, "structure"]), max_size=3)):
        if draw(st.booleans()):
            record.pop(key, None)
        else:
            record[key] = draw(json_values)
    record.update(draw(st.dictionaries(st.text(max_size=10), json_values, max_size=2)))
    return record


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(encode),
    beacon_like().map(encode),
    st.lists(beacon_like(), max_size=5).map(encode),
    st.lists(beacon_like(), max_size=5).map(lambda items: b"\n".join(map(encode, items))),
    st.dictionaries(st.sampled_from(["graph", "flows", "system_map", "constraints"]),
                    json_values, max_size=3).map(encode),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)  # fmt: skip
content_types = st.one_of(
    st.none(),
    st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                     "application/json; charset=latin-1", "application/problem+json", ";", ""]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)  # fmt: skip
sites = st.one_of(
    st.text(max_size=40),
    st.text(min_size=250, max_size=300),
    st.sampled_from(["auth", "a%2Fb", "..", "%00", "a b", "%E2%82", "shop.example.com"]),
)
authorizations = st.one_of(
    st.none(),
    st.just(f"Bearer {TOKEN}"),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    limits = quiet_limits(diagnostics_timeout_s=30.0)
    with make_client(tmp_path_factory.mktemp("fuzz"), token=TOKEN, limits=limits) as c:
        yield c


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(ROUTES),
    body=bodies,
    content_type=content_types,
    site=sites,
    authorization=authorizations,
    raw_site=st.booleans(),
)
def test_no_input_reaches_the_catch_all(
    client: TestClient,
    route: tuple[str, str],
    body: bytes,
    content_type: str | None,
    site: str,
    authorization: str | None,
    raw_site: bool,
) -> None:
    method, template = route
    # Either the site quoted as a client would, or as typed (may not be a valid path).
    shown = (
        site
        if raw_site and site.isprintable() and "?" not in site and "#" not in site
        else quote(site, safe="")
    )
    path = template.replace("{site}", shown)
    headers = {}
    if content_type is not None:
        headers["content-type"] = content_type
    if authorization is not None:
        headers["authorization"] = authorization
    content = body if method in ("POST", "PUT") else None
    try:
        answer = client.request(method, path, content=content, headers=headers)
    except UnicodeEncodeError:
        # httpx refuses to send a header that is not ASCII: nothing reached the server.
        return
    assert answer.status_code in EXPECTED, (answer.status_code, answer.text)
    assert "Traceback" not in answer.text
    if path != "/metrics" or answer.status_code != 200:
        data = answer.json()
        assert isinstance(data, dict)
        if answer.status_code != 200:
            assert isinstance(data["error"], str)
            assert set(data) <= {"error", "reason"}
