"""The responses every operation of the JSON API may give besides its own, declared in the
OpenAPI document so that clients (and `make fuzz`'s status-code check) know them:

* 401 — not signed in (operations with a security requirement);
* 403 — the role may never do this, or the CSRF check failed (same operations);
* 404 — no such record, or one outside the user's scope (operations with path parameters);
* 400 and 422 — bad input: 422 from the schema validation (each field named), 400 from the
  service (operations with parameters or a body);
* 429 — over the public rate limit (POSTs to the paths of GRIDGOV_RATE_LIMIT_PATHS).

An operation's own declaration of one of these codes (with its schema) is kept."""

import re

from ninja import NinjaAPI

ERROR = {"application/json": {"schema": {"type": "object", "properties": {"detail": {}}, "required": ["detail"]}}}
TEXTS = {
    "400": "Bad input (the detail says what and where)",
    "401": "Not signed in",
    "403": "Not allowed for this role, or the CSRF check failed",
    "404": "No such record (or outside your scope)",
    "422": "Invalid input (the detail names each field)",
    "429": "Over the public rate limit; see Retry-After",
}


def _sample_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


def declare_common_responses(schema: dict) -> dict:
    from gridgov.core.ratelimit import limited_path

    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            codes = set()
            if op.get("security"):
                codes |= {"401", "403"}
            if "{" in path:
                codes.add("404")
            if op.get("parameters") or op.get("requestBody"):
                codes |= {"400", "422"}
            if method == "post" and limited_path(_sample_path(path)):
                codes.add("429")
            for code in sorted(codes):
                op["responses"].setdefault(code, {"description": TEXTS[code], "content": ERROR})
    return schema


class GridgovAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        return declare_common_responses(super().get_openapi_schema(*args, **kwargs))
