"""Name similarity for duplicate detection: pure functions over normalised name keys."""

from __future__ import annotations

_NICKNAME_GROUPS = (
    "william bill billy will willy liam",
    "robert bob bobby rob robbie bert",
    "richard dick rick ricky rich richie",
    "james jim jimmy jamie",
    "john jack johnny jon",
    "jonathan jon jonny nathan",
    "elizabeth liz lizzie beth betty betsy eliza lisa libby",
    "margaret peggy maggie meg megan marge",
    "katherine catherine kathryn kate kathy katie cathy kat kay",
    "michael mike mikey mick",
    "joseph joe joey",
    "thomas tom tommy",
    "charles charlie chuck chas",
    "christopher chris kit",
    "christine christina chris tina",
    "daniel dan danny",
    "david dave davey",
    "anthony tony",
    "edward ed eddie ted ned",
    "jennifer jen jenny",
    "patricia pat patty tricia trish",
    "patrick pat paddy",
    "susan sue susie suzanne",
    "deborah debra deb debbie",
    "rebecca becky becca",
    "alexander alex al xander sasha",
    "alexandra alex sandra sandy lexi",
    "andrew andy drew",
    "benjamin ben benny",
    "matthew matt matty",
    "nicholas nick nicky",
    "steven stephen steve stevie",
    "samuel sam sammy",
    "samantha sam sammy",
    "victoria vicky tori",
    "kimberly kim",
    "jessica jess jessie",
    "barbara barb barbie",
    "dorothy dot dottie",
    "gregory greg",
    "jeffrey jeff",
    "kenneth ken kenny",
    "lawrence larry",
    "ronald ron ronnie",
    "donald don donnie",
    "timothy tim timmy",
    "raymond ray",
    "gerald gerry jerry",
    "frederick fred freddie",
    "henry hank harry",
    "harold harry hal",
    "leonard leo len lenny",
    "theodore ted teddy theo",
    "zachary zach zack",
    "abigail abby gail",
    "pamela pam",
    "cynthia cindy",
    "angela angie",
    "teresa theresa terri tess",
    "judith judy",
    "frances fran frannie",
    "francis frank frankie",
    "virginia ginny ginger",
    "josephine jo josie",
    "jose pepe",
    "francisco paco pancho",
    "guadalupe lupe",
    "ignacio nacho",
    "alejandro alex",
    "manuel manny",
    "roberto beto",
    "alberto beto al",
    "eduardo lalo eddie",
    "enrique kike",
    "jesus chuy",
    "rosario chayo",
    "dolores lola",
    "mercedes meche",
)

NICKNAMES: dict[str, frozenset[str]] = {}
for _line in _NICKNAME_GROUPS:
    _names = _line.split()
    for _name in _names:
        NICKNAMES[_name] = NICKNAMES.get(_name, frozenset()) | frozenset(_names)


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, capped at limit + 1."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_previous: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if (
                previous_previous is not None
                and i > 1
                and j > 1
                and char_a == b[j - 2]
                and a[i - 2] == char_b
            ):
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return min(previous[-1], limit + 1)


def _allowed_typos(name: str) -> int:
    return 1 if len(name) < 7 else 2


def close(a: str, b: str) -> bool:
    """Same name allowing a typo or two (more for longer names)."""
    if not a or not b:
        return False
    return edit_distance(a, b) <= _allowed_typos(max(a, b, key=len))


def nickname_of(a: str, b: str) -> bool:
    return a != b and (b in NICKNAMES.get(a, ()) or a in NICKNAMES.get(b, ()))


def first_names_match(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if close(a, b) or nickname_of(a, b):
        return True
    # An initial, or one name that begins the other ("chris" / "christopher").
    shorter, longer = sorted((a, b), key=len)
    return (len(shorter) == 1 and longer.startswith(shorter)) or (
        len(shorter) >= 3 and longer.startswith(shorter)
    )


def last_names_match(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if close(a, b):
        return True
    # Double-barrelled names: "garcia" and "garcialopez".
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 4 and (longer.startswith(shorter) or longer.endswith(shorter))


def name_similarity(first_a: str, last_a: str, first_b: str, last_b: str) -> str | None:
    """Why two names (as name keys) may be the same person, or None."""
    if first_a == first_b and last_a == last_b:
        return "same name"
    if first_a == last_b and last_a == first_b:
        return "first and last names swapped"
    if last_names_match(last_a, last_b):
        if nickname_of(first_a, first_b):
            return "nickname of the first name"
        if first_names_match(first_a, first_b):
            return "similar name"
    if close(first_a, last_b) and close(last_a, first_b):
        return "first and last names swapped"
    return None
