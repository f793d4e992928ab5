"""Which device a request's token names: a legacy token's device adopted where this site holds its
record, and a device checked against storage before a privacy request acts on it."""

from __future__ import annotations

import dataclasses

from consent_service.core.errors import unavailable
from consent_service.core.identity import Verified, derived_device_id
from consent_service.core.visitor import Visitor
from consent_service.store import Store, StoreUnavailable


def adopt_legacy(visitor: Visitor, record_exists: bool | None) -> Visitor:
    """A token signed before tokens named their site (`Verified.legacy`) is this site's device only
    where this site holds a record of it: there it is adopted, and re-signed bound to the site (its
    signing time 0 makes the answer re-sign it). Elsewhere it is no device, except that an opt-out
    it carries (acknowledged, never stored) is never lost: it moves to a new device of this site
    (identity.derived_device_id: the same one on every retry).
    `record_exists` None: storage could not tell; only a carried opt-out is kept, to decide on, still
    marked legacy so that nothing is written under its id. The legacy token is never echoed."""
    device = visitor.device
    if device is None or not device.legacy:
        return visitor
    adopted: Verified | None
    if record_exists:
        adopted = Verified(device.device_id, 0, device.pending)
    elif device.pending is None:
        adopted = None
    elif record_exists is False:
        adopted = Verified(derived_device_id(visitor.site.id, device.device_id), 0, device.pending)
    else:
        adopted = device
    return dataclasses.replace(visitor, device=adopted, token=None)


async def known_device(store: Store, site_id: str, device: Verified | None, timeout_s: float) -> Verified | None:
    """A verified token's device for the rights and account requests: a legacy token's only where
    the site holds a record of it (adopt_legacy's rule, without its carried-opt-out rescue: these
    requests act on what is held). A 503 when that cannot be read."""
    if device is None or not device.legacy:
        return device
    try:
        record = await store.get(site_id, device.device_id, timeout_s)
    except StoreUnavailable:
        raise unavailable() from None
    return None if record is None else Verified(device.device_id, 0, device.pending)
