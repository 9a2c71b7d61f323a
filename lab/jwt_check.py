"""The incident in miniature, run inside a lab guest with Debian's python3-jwt (PyJWT).

    python3 - mint   < jwt_check.py          prints a fresh HS256 token: nbf = now, exp = now + 300
    python3 - verify TOKEN [LEEWAY] < jwt_check.py
                                            prints 'valid' or 'rejected: <PyJWT's message>' (exit 0 / 1)
The issuer and the verifier share a secret; the only thing that differs between guests is the clock.
The token carries no iat: Debian 12's PyJWT (2.6) also rejects an iat in the future, with '... (iat)', and the
incident's message named nbf.
"""
import sys
import time

import jwt

SECRET = "fleetclock-lab-secret"

if sys.argv[1] == "mint":
    now = int(time.time())
    print(jwt.encode({"sub": "fleetclock-lab", "nbf": now, "exp": now + 300}, SECRET, algorithm="HS256"))
else:
    leeway = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    try:
        jwt.decode(sys.argv[2], SECRET, algorithms=["HS256"], leeway=leeway)
    except jwt.InvalidTokenError as exc:
        print("rejected: %s" % exc)
        sys.exit(1)
    print("valid")
