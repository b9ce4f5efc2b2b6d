"""Opaque, hashid-like user ids for the simulators.

Real Audius ids are short case-sensitive strings (`eJ57D`) that encode an integer, and the
server also accepts the plain integer. Clients must treat ids as opaque, so the simulator
only needs an encoding that *looks* the part and that can tell a well-formed id (an account
that may or may not exist: 200 `[]` on lists) from an undecodable one (400). This is our own
scheme, not hashids: an affine scramble of the integer written in a shuffled base-62
alphabet, plus one check letter, so most random strings are rejected like real ones.
"""

from __future__ import annotations

ALPHABET = "V9Q5rlFOCaTfHkNWZczj61S8ogXRnbJxUtPM43idvGKs7weyI0muBp2LqYEADh"
CHECK_LETTERS = "rNFkOlatoYqiMSHTyDwmvRECXZhWsJbKQpUABfcnGVLxgIedPzju"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
_BASE = len(ALPHABET)
_WIDTHS = (4, 5, 6)  # payload digits; with the check letter: 5 to 7 characters
_MULTIPLIER = 0x5DEECE66D  # odd and not a multiple of 31: invertible modulo 62**w
_OFFSET = 0x2F6B_1D3A_97


def _affine(width: int) -> tuple[int, int, int, int]:
    """(modulus, multiplier, its inverse, offset) of the scramble for one id width."""
    modulus = _BASE**width
    multiplier = _MULTIPLIER % modulus
    return modulus, multiplier, pow(multiplier, -1, modulus), _OFFSET % modulus


_AFFINE = {width: _affine(width) for width in _WIDTHS}
_LIMITS = tuple(_BASE**width for width in _WIDTHS)
_PAIRS = [first + second for first in ALPHABET for second in ALPHABET]
_PAIR_VALUE = {pair: value for value, pair in enumerate(_PAIRS)}
_PAIR_BASE = len(_PAIRS)
MAX_ID = _BASE ** _WIDTHS[-1] - 1
_MAX_PLAIN_DIGITS = 18  # longer digit strings are not ids (and would be slow to convert)


def _width(number: int) -> int:
    """The fewest payload digits that hold `number`: each integer has one canonical id."""
    if number < _LIMITS[0]:
        return 4
    if number < _LIMITS[1]:
        return 5
    if number < _LIMITS[2]:
        return 6
    raise ValueError(f"id {number} is too large to encode")


def _check_letter(number: int) -> str:
    """A letter (never a digit, so no id is mistaken for a plain integer) derived from it."""
    return CHECK_LETTERS[((number * 2654435761) >> 13) % len(CHECK_LETTERS)]


def scramble(number: int) -> str:
    """The computed id of `number`, ignoring any fixed (seed) ids.

    Digits are produced two at a time from a table: bulk creation of a million users is
    mostly this function.
    """
    if number < 0:
        raise ValueError("ids are non-negative")
    width = _width(number)
    modulus, multiplier, _, offset = _AFFINE[width]
    value = (number * multiplier + offset) % modulus
    chunks = []
    for _ in range(width >> 1):
        value, pair = divmod(value, _PAIR_BASE)
        chunks.append(_PAIRS[pair])
    if width & 1:
        chunks.append(ALPHABET[value])
    chunks.reverse()
    chunks.append(_check_letter(number))
    return "".join(chunks)


def unscramble(text: str) -> int | None:
    """The integer behind a computed id, or None when `text` is not one (wrong check letter,
    foreign character, non-canonical width)."""
    width = len(text) - 1
    affine = _AFFINE.get(width)
    if affine is None:
        return None
    start = width & 1
    value = _VALUE.get(text[0], -1) if start else 0
    if value < 0:
        return None
    for index in range(start, width, 2):
        pair = _PAIR_VALUE.get(text[index : index + 2])
        if pair is None:
            return None
        value = value * _PAIR_BASE + pair
    modulus, _, inverse, offset = affine
    number = ((value - offset) * inverse) % modulus
    if _width(number) != width or text[width] != _check_letter(number):
        return None
    return number


class IdCodec:
    """Integer <-> id, where some integers keep fixed ids (the seed users' real ones)."""

    __slots__ = ("_by_number", "_by_text")

    def __init__(self) -> None:
        self._by_number: dict[int, str] = {}
        self._by_text: dict[str, int] = {}

    def fix(self, number: int, text: str) -> None:
        """Give `number` the id `text` (a real id that our scheme would not produce)."""
        if not text.isascii() or not text.isalnum() or text.isdigit():
            raise ValueError(f"not a usable fixed id: {text!r}")
        self._by_number[number] = text
        self._by_text[text] = number

    def fresh(self, number: int) -> str | None:
        """The id a new user with integer `number` gets, or None when that integer must be
        skipped (it is fixed, or its computed id is some fixed id)."""
        if number in self._by_number:
            return None
        text = scramble(number)
        return None if text in self._by_text else text

    def encode(self, number: int) -> str:
        fixed = self._by_number.get(number)
        return fixed if fixed is not None else scramble(number)

    def decode(self, text: str) -> int | None:
        """The integer behind an id or a plain integer string; None when undecodable."""
        fixed = self._by_text.get(text)
        if fixed is not None:
            return fixed
        if text.isascii() and text.isdigit():
            return int(text) if len(text) <= _MAX_PLAIN_DIGITS else None
        number = unscramble(text)
        if number is None or number in self._by_number:
            return None
        return number
