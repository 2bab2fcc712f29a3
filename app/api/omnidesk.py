"""Omnidesk's customer sync API (seed 002) at Omnidesk's own paths: an existing client changes
only its base URL.

The brand is the namespace (``brand_id``/``brandID``, a number or a string: ``7`` and ``"7"``
are one brand). A customer is a profile: ``primary_id`` is its ``customId`` (one per
customer), addresses are ``email``, ``phone`` (E.164), ``facebook``, ``twitter`` identifiers
(several per customer allowed), a ticket a ``ticket``. ``firstname``/``lastname`` are stored
as ``firstName``/``lastName`` as on the other faces, custom fields under their own names.

Successes answer 200 ``{"type": "result", "message": ...}`` as documented; otherwise the
native error shape: 400 naming the field, 404 for an unknown customer, and (our choice, the
documentation is silent) 409 ``conflict`` when an address or ticket is held by a customer
with another primary id: the message names that primary id, nothing is changed, and the
refusal is in ``GET /v1/{brand}/conflicts``. A 200 would say it was linked when it was not.
Who holds it is decided with the refusal (graph.model.Holder), not looked up afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate

from app.api.blueprint import Blueprint, check_namespace
from app.api.context import caller, namespace, service, source
from app.api.errors import ErrorSchema, as_field_errors
from app.api.schemas import without_optional_nulls
from graph.errors import InvalidInput, NotFound, Refused
from graph.model import Conflict
from graph.service import LinkRequest

DIALECT = "omnidesk"
CHANNEL_TYPES = dict(email="email", telephone="phone", facebook="facebook", twitter="twitter")
EXTRA_TYPES = {f"extra_{channel}": type_ for channel, type_ in CHANNEL_TYPES.items()}
STORED_AS = {"firstname": "firstName", "lastname": "lastName"}
NOT_EMPTY = validate.Length(min=1, error="must not be an empty string (send null to delete)")
INT_OR_TEXT = {"oneOf": [{"type": "integer"}, {"type": "string"}]}
NO_SYNC = {"description": "accepted and ignored: idgraph holds no tickets to sync"}
# The names that say which customer or brand a call is about, in one call or another (seed
# 002: purge's external_id is "Same as primary_id"); never a custom field.
NAMES_OF = dict(
    primary_id="customer", externalPrimaryID="customer", external_id="customer",
    brand_id="brand", brandID="brand",
)  # fmt: skip
# The names creating a customer reads and updateCustomer does not (seed 002: the create table
# has them, the update table not), with what an update would not do; never a custom field.
CREATE_ONLY = dict(
    channel_id="links no address (addchannelonly does)",
    customer_link_channel="links no address (addchannelonly does)",
    ticket_id="links no ticket",
    noSync="syncs no tickets",
)  # fmt: skip

blp = Blueprint("omnidesk", __name__, description="Omnidesk: customer sync, /api/v2/customer.")


class IntOrText(fields.Field):
    """A whole number or a non-empty string, read as text: ``7`` and ``"7"`` are one value."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            raise ma.ValidationError("must be a whole number or a non-empty string")
        return str(value)


class Brand(IntOrText):
    """The brand: the namespace."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = attr or "brand_id"
        try:
            return check_namespace(super()._deserialize(value, attr, data, **kwargs), name)
        except InvalidInput as error:
            raise ma.ValidationError(error.fields[name]) from error


def _brand() -> Brand:
    return Brand(required=True, metadata={**INT_OR_TEXT, "description": "the namespace"})


class BodySchema(ma.Schema):
    """An optional field sent as ``null`` is taken as not sent, where ``null`` means nothing
    of its own (the field does not ``allow_none``): the seed lists ``noSync`` and the
    ``extra_*`` addresses as optional and says nothing of null, and clients built on data
    classes send every field they know. A required field sent as ``null`` is still a 400
    naming it; a ``null`` that means something (a name or custom field: delete it; a ticket:
    none) is read as before."""

    @ma.pre_load
    def _null_is_absent(self, data: Any, **kwargs: Any) -> Any:
        return without_optional_nulls(self, data)


class CustomerFieldsSchema(BodySchema):
    """Names and custom fields: any key not declared is a custom field (string, number or
    boolean). ``null`` deletes one; an empty string is refused, and so is a name that says
    which customer or brand another call is about (``NAMES_OF``: ``primary_id`` sent to
    updateCustomer names no attribute), one a create reads and an update does not
    (``CREATE_ONLY``: ``ticket_id`` sent to updateCustomer links no ticket), and an
    ``extra_*`` address, which addchannelonly alone reads. Loads to the declared fields plus
    ``attributes``: the writes, under their stored names."""

    class Meta:
        unknown = ma.INCLUDE

    firstname = fields.String(allow_none=True, validate=NOT_EMPTY, metadata={"example": "Ann"})
    lastname = fields.String(allow_none=True, validate=NOT_EMPTY, metadata={"example": "Lee"})

    @ma.validates_schema
    def _custom_fields(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        problems = {name: self._custom_problem(name, data[name]) for name in self._custom(data)}
        errors = {name: [problem] for name, problem in problems.items() if problem}
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def _split(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        written = [name for name in data if name in STORED_AS or name in self._custom(data)]
        attributes = {STORED_AS.get(name, name): data.pop(name) for name in written}
        return {**data, "attributes": attributes}

    def _custom(self, data: Mapping[str, Any]) -> list[str]:
        return [name for name in data if name not in self.fields]

    def _custom_problem(self, name: str, value: Any) -> str | None:
        if name in EXTRA_TYPES:  # seed 002: only addchannelonly reads them
            return "an address addchannelonly adds to a customer, not a custom field"
        if name in CREATE_ONLY:
            why = CREATE_ONLY[name]
            return f"read when a customer is created, not a custom field: an update {why}"
        if name not in NAMES_OF:
            return _custom_problem(name, value)
        what = NAMES_OF[name]
        ours = [own for own in self.load_fields if NAMES_OF.get(own) == what]
        here = f"; here {ours[0]} does" if ours else ""
        return f"names the {what} in other calls, not a custom field{here}"


def _custom_problem(name: str, value: Any) -> str | None:
    if name in STORED_AS.values():
        return f"send it as {name.lower()}"
    if isinstance(value, str):
        return None if value else NOT_EMPTY.error
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    ok = value is None or isinstance(value, bool | int)
    return None if ok else "a custom field is a string, a number or a boolean"


class CustomerSchema(CustomerFieldsSchema):
    brand_id = _brand()
    primary_id = fields.String(required=True)
    channel_id = fields.String(required=True, validate=validate.OneOf(list(CHANNEL_TYPES)))
    customer_link_channel = fields.String(required=True, metadata={"example": "ann@example.com"})
    ticket_id = IntOrText(allow_none=True, metadata=INT_OR_TEXT)
    noSync = fields.Boolean(metadata=NO_SYNC)


class UpdateCustomerSchema(CustomerFieldsSchema):
    externalPrimaryID = fields.String(required=True)
    brandID = _brand()


class AddChannelSchema(BodySchema):
    """Any other key is refused (marshmallow's default), as in PurgeSchema."""

    brand_id = _brand()
    primary_id = fields.String(required=True)
    extra_email = fields.String()
    extra_telephone = fields.String(metadata={"example": "+48601234567"})
    extra_facebook = fields.String()
    extra_twitter = fields.String()
    noSync = fields.Boolean(metadata=NO_SYNC)

    @ma.validates_schema
    def _one_address(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if not any(name in data for name in EXTRA_TYPES):
            raise ma.ValidationError(f"send at least one of {', '.join(EXTRA_TYPES)}", "_schema")


class PurgeSchema(ma.Schema):
    external_id = fields.String(required=True)
    brand_id = _brand()


class ResultSchema(ma.Schema):
    type = fields.String(required=True, metadata={"example": "result"})
    message = fields.String(required=True)


CONFLICT = {"schema": ErrorSchema, "description": "held by a customer with another primary id"}
UNKNOWN = {"schema": ErrorSchema, "description": "no customer with this primary id"}


@blp.route("/api/v2/customer")
class Customer(MethodView):
    @blp.arguments(CustomerSchema)
    @blp.response(200, ResultSchema)
    @blp.alt_response(409, **CONFLICT)
    def post(self, body: dict[str, Any]) -> dict[str, str]:
        """Create a customer (or add to one) and link an address, and a ticket if given.

        ``noSync`` is accepted and ignored: idgraph holds no tickets to sync."""
        address = (CHANNEL_TYPES[body["channel_id"]], body["customer_link_channel"])
        pairs = [("customId", body["primary_id"]), address]
        if body.get("ticket_id") is not None:
            pairs.append(("ticket", body["ticket_id"]))
        names = ["primary_id", "customer_link_channel", "ticket_id"][: len(pairs)]
        request = LinkRequest(pairs, body["attributes"], names)
        _write(body["brand_id"], request)
        return _answer("User created and channel linked.")


@blp.route("/api/v2/customer/updateCustomer")
class UpdateCustomer(MethodView):
    @blp.arguments(UpdateCustomerSchema)
    @blp.response(200, ResultSchema)
    @blp.alt_response(404, **UNKNOWN)
    def put(self, body: dict[str, Any]) -> dict[str, str]:
        """Update a customer: only the fields sent change; null deletes one."""
        pairs = [("customId", body["externalPrimaryID"])]
        request = LinkRequest(pairs, body["attributes"], ["externalPrimaryID"])
        _write(body["brandID"], request, min_identifiers=1, existing_anchor=True)
        return _answer("Customer updated.")


@blp.route("/api/v2/customer/addchannelonly")
class AddChannel(MethodView):
    @blp.arguments(AddChannelSchema)
    @blp.response(200, ResultSchema)
    @blp.alt_response(404, **UNKNOWN)
    @blp.alt_response(409, **CONFLICT)
    def post(self, body: dict[str, Any]) -> dict[str, str]:
        """Add addresses to a known customer. ``noSync`` is accepted and ignored: idgraph
        holds no tickets to sync."""
        extras = [name for name in EXTRA_TYPES if name in body]
        pairs = [("customId", body["primary_id"])] + [(EXTRA_TYPES[n], body[n]) for n in extras]
        request = LinkRequest(pairs, {}, ["primary_id", *extras])
        _write(body["brand_id"], request, existing_anchor=True)
        return _answer("Channel added to the customer.")


@blp.route("/api/v2/customer/purgedata")
class PurgeData(MethodView):
    @blp.arguments(PurgeSchema)
    @blp.response(200, ResultSchema)
    @blp.alt_response(404, **UNKNOWN)
    def delete(self, body: dict[str, Any]) -> dict[str, str]:
        """Erase the customer: identifiers, links, attributes and their history.

        Omnidesk answers 200 with an empty body; this answers 200 with a result message, which
        clients that ignore the body do not notice."""
        brand, primary_id = body["brand_id"], body["external_id"]
        try:
            service().erasure.purge_identifier(
                namespace(brand), "customId", primary_id, purged_by=caller(), dialect=DIALECT
            )
        except NotFound as missing:
            raise _unknown(brand, primary_id) from missing
        return _answer("Customer data purged.")


def _answer(message: str) -> dict[str, str]:
    return {"type": "result", "message": message}


def _unknown(brand: str, primary_id: str) -> NotFound:
    return NotFound(f"no customer with primary id {primary_id.strip()!r} in brand {brand}")


def _write(
    brand: str, request: LinkRequest, *, min_identifiers: int = 2, existing_anchor: bool = False
) -> None:
    """Link one item; Refused (409 ``conflict``) when the rules refuse it."""
    try:
        result = service().linking.link(
            namespace(brand), [request], operation="customer", source=source(), dialect=DIALECT,
            min_identifiers=min_identifiers, existing_anchor=existing_anchor,
        )  # fmt: skip
    except InvalidInput as invalid:  # custom fields are top-level keys of the body
        raise as_field_errors(invalid, drop_prefix="attributes.") from invalid
    except NotFound as missing:
        raise _unknown(brand, request.identifiers[0][1]) from missing
    [result] = result.results
    if isinstance(result.outcome, Conflict):
        raise _refused(request, result.outcome)


def _refused(request: LinkRequest, conflict: Conflict) -> Refused:
    """The refusal, naming the customer who holds one of the item's identifiers."""
    reason, holder = conflict.reason, conflict.holder
    if holder is None:
        message = f"linking would break the rule {reason}; nothing was changed"
        return Refused("conflict", message, reason=reason)
    held = holder.identifier
    message = (
        f"{request.names[holder.position]}: {held.type}:{held.value} is already linked to the "
        f"customer with primary id {holder.named_by.value!r}; nothing was changed"
    )
    return Refused("conflict", message, holder_primary_id=holder.named_by.value, reason=reason)
