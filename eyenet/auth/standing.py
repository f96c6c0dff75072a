"""Whose tokens still stand: each user's token generation, as last read from the store.

A token names its user (`sub`) and the generation the user was at when it was issued
(`gen`). It stands while that user exists and is still at that generation: a password,
role or scope change and a logout raise the generation, a deletion removes the user, and
either way every token issued before stops standing. Pure: the edge (auth.watch) reads
the store and loads here what it read.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.define
class Standing:
    version: int | None = None  # the store's users_version when last loaded; None: never loaded
    generations: dict[str, int] = attrs.Factory(dict)  # user id -> generation

    def load(self, version: int, generations: Mapping[str, int]) -> frozenset[str]:
        """Replace what is known; returns the ids of the users whose tokens stopped standing."""
        gone = frozenset(uid for uid, gen in self.generations.items() if generations.get(uid) != gen)
        self.version = version
        self.generations = dict(generations)
        return gone

    def refusal(self, user_id: str, generation: int) -> str | None:
        """Why a token of this user at this generation is refused; None: it stands."""
        current = self.generations.get(user_id)
        if current is None:
            return "the token's user does not exist (deleted, or never was)"
        if generation != current:
            return "the token was revoked (a logout, or a change of its user's password, role or scope)"
        return None
