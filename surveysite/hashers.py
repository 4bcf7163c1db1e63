"""The password hasher: Argon2id at a cost OWASP recommends (a deliberate choice, see README).

Django's own Argon2 hasher defaults to 100 MiB and 8 lanes, and its PBKDF2 to 1,000,000
iterations (~250 ms of one core per login): at the deadline, when every hospital logs in
within a few days, logins took most of the server's CPU. OWASP's Password Storage Cheat
Sheet gives five Argon2id configurations that "provide an equal level of defense", trading
memory for passes: m=46 MiB t=1, m=19 MiB t=2, m=12 MiB t=3, m=9 MiB t=4 and m=7 MiB t=5
(p=1 for all). The last uses the least memory and, measured here, the least CPU: 21 ms of
one core per hash against 35 ms for m=19 MiB t=2, since filling fresh memory costs more than
another pass over memory already in the cache (bench/surge; about 7 MiB per concurrent login
instead of 19). Hashes made with other parameters or hashers still verify and are rewritten
with these at the next login.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id, 7 MiB (7,168 KiB), 5 passes, 1 lane; stored in Django's usual argon2 format."""

    time_cost = 5
    memory_cost = 7168
    parallelism = 1
