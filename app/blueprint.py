"""The Blueprint every face of the API uses: request validation failures answer 400."""

from __future__ import annotations

import flask_smorest
from webargs.flaskparser import FlaskParser


class Parser(FlaskParser):
    """webargs answers 422 by default; a bad request is a 400 here, in the one error shape."""

    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
