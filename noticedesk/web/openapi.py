"""The JSON API's endpoints as data: each declares its method, path, role, parameters and body
model, and both the Starlette routes and ``/openapi.json`` are made from that one table."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from noticedesk.web.auth import Gatekeeper

ApiHandler = Callable[[Request, Any], Awaitable[Any]]
MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    where: str = "query"  # query | path
    description: str = ""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    role: str
    summary: str
    handler: ApiHandler
    params: tuple[Param, ...] = ()
    body: type[BaseModel] | None = None

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


class JsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def route(gate: Gatekeeper, endpoint: Endpoint) -> Route:
    async def call(request: Request) -> Response:
        body: Any = None
        if endpoint.body is not None:
            raw = await request.body()
            if len(raw) > MAX_BODY:
                return JsonResponse({"error": f"body larger than {MAX_BODY // 1024} KiB"}, status_code=413)
            try:
                body = endpoint.body.model_validate_json(raw or b"{}")
            except ValidationError as error:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in item['loc']) or 'body'}: {item['msg']}"
                    for item in error.errors()
                )
                return JsonResponse({"error": problems}, status_code=422)
        try:
            result = await endpoint.handler(request, body)
        except ValueError as error:
            return JsonResponse({"error": str(error)}, status_code=400)
        return result if isinstance(result, Response) else JsonResponse(result)

    call.__name__ = endpoint.handler.__name__
    return Route(endpoint.path, gate.guard(endpoint.role, call, api=True), methods=[endpoint.method])


_ERRORS = {
    "400": "the request cannot be done as asked (the reason is in `error`)",
    "401": "no session and no API token",
    "403": "the role may not do this, or a browser session sent no CSRF token",
    "404": "no such case, action or item",
    "409": "refused by the use case (not verified, not diagnosed, already taken)",
    "422": "the JSON body does not match its schema",
}


def document(endpoints: Sequence[Endpoint], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of ``endpoints`` (security: a bearer token or the session cookie)."""
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {}
    for endpoint in endpoints:
        parameters = [
            {"name": p.name, "in": p.where, "required": p.where == "path", "schema": p.schema}
            | ({"description": p.description} if p.description else {})
            for p in endpoint.params
        ]
        declared = {p.name for p in endpoint.params if p.where == "path"}
        parameters += [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 320}}
            for name in endpoint.path_params
            if name not in declared
        ]
        operation: dict[str, Any] = {
            "operationId": endpoint.handler.__name__,
            "summary": endpoint.summary,
            "description": f"Role needed: `{endpoint.role}`.",
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "done",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **{code: {"description": text} for code, text in _ERRORS.items()},
            },
        }
        if endpoint.body is not None:
            schema = endpoint.body.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            components[endpoint.body.__name__] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{endpoint.body.__name__}"}}
                },
            }
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "NoticeDesk", "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "description": "[web] api_tokens"},
                "session": {"type": "apiKey", "in": "cookie", "name": "noticedesk_session"},
            },
        },
        "security": [{"token": []}, {"session": []}],
    }
