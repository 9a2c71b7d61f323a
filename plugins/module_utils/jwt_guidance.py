# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JWT leeway guidance from the measured host records of an audit report.

Pure functions; no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import heapq
import math

from ansible_collections.fleetclock.timesync.plugins.module_utils.audit_options import DEFAULTS

JWT_SETTINGS = (
    {"library": "PyJWT", "setting": "jwt.decode(..., leeway=N)", "default": 0},
    {"library": "flask-jwt-extended", "setting": "JWT_DECODE_LEEWAY", "default": 0},
    {"library": "jsonwebtoken (Node.js)", "setting": "jwt.verify(..., {clockTolerance: N})", "default": 0},
    {"library": "golang-jwt v5", "setting": "jwt.WithLeeway(N * time.Second)", "default": 0},
    {"library": "Spring Security", "setting": "new JwtTimestampValidator(Duration.ofSeconds(N))", "default": 60},
    {"library": "Nimbus JOSE+JWT", "setting": "DefaultJWTClaimsVerifier.setMaxClockSkew(N)", "default": 60},
)


def worst_spread(points):
    """max over ordered pairs i != j of (offset_i + bound_i) - (offset_j - bound_j); 0 for one host."""
    if len(points) < 2:
        return 0.0
    high = sorted(points, key=lambda p: p[1] + p[2], reverse=True)[:2]
    low = sorted(points, key=lambda p: p[1] - p[2])[:2]
    best = None
    for a in high:
        for b in low:
            if a[0] != b[0]:
                value = (a[1] + a[2]) - (b[1] - b[2])
                best = value if best is None or value > best else best
    return best


def _count_ahead(offsets_asc, offset, leeway):
    """How many offsets o satisfy offset - o > leeway (offsets_asc sorted ascending)."""
    lo, hi = 0, len(offsets_asc)
    while lo < hi:
        mid = (lo + hi) // 2
        if offset - offsets_asc[mid] > leeway:
            lo = mid + 1
        else:
            hi = mid
    return lo


def jwt_guidance(report_hosts, current_leeway=0, margin=DEFAULTS["jwt_margin"], max_pairs=DEFAULTS["jwt_max_pairs"]):
    """JWT leeway advice for the measured hosts of a report (``report["hosts"]``).

    d(I, V) = offset(I) - offset(V): how far issuer I's clock is ahead of verifier V's.
    A pair (I, V) is listed when d > current_leeway (point estimate): a token minted on I
    with nbf = iat = now is rejected by V for d - leeway seconds ("The token is not yet
    valid (nbf)"), and a token from I is still accepted by V up to d + leeway seconds after
    its exp.  The recommended leeway covers every pair in the worst case of the bounds:
    ceil(max over pairs of d + bound(I) + bound(V), + margin) whole seconds.
    """
    points = sorted(((h["host"], h["offset"], h["bound"]) for h in report_hosts if h.get("measured")),
                    key=lambda p: (p[1], p[0]))
    leeway = float(current_leeway)
    result = {
        "current_leeway": current_leeway,
        "margin": margin,
        "measured_hosts": len(points),
        "worst_pair_spread": None,
        "recommended_leeway": None,
        "nbf_rejected": {"total": 0, "shown": 0, "pairs": []},
        "exp_accepted_late": {"total": 0, "shown": 0, "pairs": []},
        "settings": [dict(item) for item in JWT_SETTINGS],
    }
    if not points:
        return result
    spread = worst_spread(points)
    result["worst_pair_spread"] = spread
    # round first so float noise (2.0000000000004) does not add a whole second
    result["recommended_leeway"] = int(math.ceil(round(spread + margin, 6)))

    offsets = [p[1] for p in points]
    total = sum(_count_ahead(offsets, p[1], leeway) for p in points)
    heap = []
    descending = sorted(points, key=lambda p: (-p[1], p[0]))
    for issuer in descending:
        if len(heap) >= max_pairs and (max_pairs == 0 or issuer[1] - points[0][1] <= heap[0][0]):
            break
        for verifier in points:
            ahead = issuer[1] - verifier[1]
            if ahead <= leeway:
                break
            entry = (ahead, verifier[0], issuer[0], issuer, verifier)
            if len(heap) < max_pairs:
                heapq.heappush(heap, entry)
            elif ahead > heap[0][0]:
                heapq.heapreplace(heap, entry)
            else:
                break
    nbf, late = [], []
    for ahead, _v, _i, issuer, verifier in sorted(heap, key=lambda e: (-e[0], e[2], e[1])):
        bound = issuer[2] + verifier[2]
        common = {"issuer": issuer[0], "verifier": verifier[0], "ahead": ahead, "bound": bound,
                  "excess": ahead - leeway, "certain": ahead - bound > leeway}
        nbf.append(dict(common, rejected_for=ahead - leeway))
        late.append(dict(common, accepted_late_by=ahead + leeway))
    result["nbf_rejected"] = {"total": total, "shown": len(nbf), "pairs": nbf}
    result["exp_accepted_late"] = {"total": total, "shown": len(late), "pairs": late}
    return result
