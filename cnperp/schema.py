"""The API schema's error answers, documented for every operation in one place.

Every endpoint can answer 400 (bad input, naming the field), 401 (no or bad
credentials), 403 (the role does not allow it), 404 (an unknown id), 409 (a
state that forbids the change: posted, finalized, closed), 415 (a body in a
media type it does not read) and 429 (rate limited). The views document their
successes and their own error texts; this adds the error answers a view leaves
out, so clients (and schemathesis) can rely on the schema for every status
they will meet.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ProblemSerializer(serializers.Serializer):
    """An error: ``detail`` and ``code``, or, for bad input, the fields at fault with their messages."""

    detail = serializers.CharField(
        required=False, help_text="What went wrong, in words finance staff can act on."
    )
    code = serializers.CharField(
        required=False, help_text="A stable code such as not_found or period_closed."
    )


FIELD_ERRORS = {
    "type": "object",
    "description": 'Each field at fault with its messages ({"amount": ["..."]}), or detail and code.',
    "additionalProperties": {},
}

ERRORS = {
    "400": "Bad input: the answer names each field at fault with its problem.",
    "401": "Not signed in, or the token is not valid.",
    "403": "Signed in, but the role does not allow this (see docs/security.md).",
    "404": "No record has this id.",
    "409": "The record's state forbids it: posted, reversed, finalized, or in a closed period.",
    "415": (
        "The body's media type is not one this endpoint reads (JSON, form or multipart), "
        "or its Content-Type declares a charset other than UTF-8, ASCII or a single-byte "
        "ISO-8859, Windows or KOI8 code page (code unsupported_charset)."
    ),
    "429": "Too many requests: rate limited, or sign-ins locked for a while.",
}


class FinanceAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ProblemSerializer, code, direction=direction)
                responses[code]["description"] = ERRORS[code]
            # An error is always JSON, even from an endpoint that also answers CSV or XLSX.
            content = responses[code].get("content", {})
            if "application/json" in content:
                responses[code]["content"] = {"application/json": content["application/json"]}
        # Bad input names its fields, whatever they are called (a field may be called "code").
        responses["400"]["content"] = {"application/json": {"schema": FIELD_ERRORS}}
        return responses

    def _error_codes(self):
        codes = ["400", "404", "429"]
        if getattr(self.view, "permission_classes", None):
            codes += ["401", "403"]
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes += ["409", "415"]
        return codes
