"""The patients part of the demo practice: payers, patients, coverages, a few duplicates.

Everything is generated from the step's seeded random generator; names come from the
lists below, phone numbers only from the 555-01xx range reserved for fiction.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import phonenumbers
from django.utils import timezone

from medoffice.patients import services
from medoffice.patients.models import (
    Authorization,
    AuthorizationKind,
    Coverage,
    EligibilityCheck,
    EligibilityMethod,
    EligibilityStatus,
    Language,
    Patient,
    Payer,
    PlanType,
    Relationship,
    SubscriberRelationship,
)

FEMALE = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
    "Karen", "Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly", "Emily", "Donna",
    "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura",
    "Cynthia", "Dorothy", "Amy", "Kathleen", "Angela", "Shirley", "Emma", "Brenda", "Pamela",
    "Nicole", "Anna", "Samantha", "Katherine", "Christine", "Debra", "Rachel", "Carolyn", "Janet",
    "Maria", "Olivia", "Heather", "Helen", "Catherine", "Diane", "Julie", "Victoria", "Joyce",
    "Lauren", "Kelly", "Christina", "Ruth", "Joan", "Virginia", "Judith", "Evelyn", "Hannah",
    "Andrea", "Megan", "Cheryl", "Jacqueline", "Madison", "Teresa", "Abigail", "Sophia", "Martha",
    "Sara", "Gloria", "Janice", "Kathryn", "Ann", "Isabella", "Judy", "Charlotte", "Julia", "Grace",
    "Amber", "Alice", "Jean", "Denise", "Frances", "Danielle", "Marilyn", "Natalie", "Beverly",
    "Diana", "Brittany", "Theresa", "Kayla", "Alexis", "Doris", "Lori", "Tiffany", "Guadalupe",
    "Lucía", "Sofía", "Valentina", "Ximena", "Chloé", "Zoë", "Renée", "Mei", "Aiko", "Priya",
    "Fatima", "Amara", "Ngozi", "Thi", "Linh", "Ana", "Camila", "Leilani", "Ingrid", "Astrid",
)  # fmt: skip
MALE = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Christopher", "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Andrew",
    "Paul", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Jason",
    "Edward", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen",
    "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory", "Alexander", "Patrick",
    "Frank", "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron", "Jose", "Adam", "Nathan",
    "Henry", "Zachary", "Douglas", "Peter", "Kyle", "Noah", "Ethan", "Jeremy", "Walter",
    "Christian", "Keith", "Roger", "Terry", "Austin", "Sean", "Gerald", "Carl", "Harold", "Dylan",
    "Arthur", "Lawrence", "Jordan", "Jesse", "Bryan", "Billy", "Bruce", "Gabriel", "Joe", "Logan",
    "Alan", "Juan", "Albert", "Willie", "Elijah", "Wayne", "Randy", "Vincent", "Mason", "Roy",
    "Ralph", "Bobby", "Russell", "Bradley", "Philip", "Eugene", "José", "Luis", "Carlos", "Miguel",
    "Andrés", "Tomás", "Ángel", "Hiroshi", "Wei", "Arjun", "Ravi", "Omar", "Hassan", "Kwame",
    "Chukwuemeka", "Minh", "Duc", "Björn", "Søren", "François", "Liam", "Mateo", "Diego",
)  # fmt: skip
LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
    "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy",
    "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed",
    "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez",
    "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jiménez", "Núñez",
    "Peña", "Muñoz", "O'Brien", "O'Connor", "McDonald", "MacKenzie", "Van der Berg", "De la Cruz",
    "García-López", "Smith-Jones", "Nakamura", "Tanaka", "Watanabe", "Chen", "Wang", "Li", "Zhang",
    "Tran", "Pham", "Le", "Hoang", "Kowalski", "Nowak", "Wiśniewski", "Ivanov", "Petrov",
    "Okafor", "Adeyemi", "Mensah", "Haddad", "Khoury", "Shah", "Singh", "Kumar", "Gupta",
    "Johansson", "Lindqvist", "Müller", "Schröder", "Dubois", "Lefèvre", "Rossi", "Bianchi",
    "Kaufman", "Goldberg", "Friedman", "Yilmaz", "Demir", "Kaya", "Park", "Choi", "Jung",
)  # fmt: skip
STREETS = (
    "Oak St", "Maple Ave", "Cedar Ln", "Pine St", "Elm St", "Washington Ave", "Lake Dr",
    "Hillcrest Rd", "Sunset Blvd", "Park Ave", "Church St", "Mill Rd", "River Rd", "Meadow Ln",
    "Willow Way", "Forest Dr", "Spring St", "Highland Ave", "Jackson St", "Lincoln Ave",
)  # fmt: skip
LANGUAGES = (
    (Language.ENGLISH, 80), (Language.SPANISH, 12), (Language.CHINESE, 2), (Language.VIETNAMESE, 2),
    (Language.KOREAN, 1), (Language.RUSSIAN, 1), (Language.ARABIC, 1), (Language.TAGALOG, 1),
)  # fmt: skip
AREA_CODES = tuple(
    a for a in range(201, 990) if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{a}5550100"))
)

# (name, payer id, plan type, timely filing days, phone digits, city, state, zip, copays)
PAYERS = (
    ("Medicare Part B", "MCRB1", PlanType.MEDICARE, 365, "01", ("0", "0")),
    ("{state} Medicaid", "MCD{state}", PlanType.MEDICAID, 180, "02", ("0", "0")),
    ("Lakeshore Health Plan", "LKS01", PlanType.COMMERCIAL, 90, "03", ("25", "50")),
    ("Summit Mutual Insurance", "SMT22", PlanType.PPO, 180, "04", ("30", "60")),
    ("Evergreen Benefit Administrators", "EVG77", PlanType.COMMERCIAL, 120, "05", ("20", "40")),
    ("Harbor Point Health", "HPH10", PlanType.PPO, 90, "06", ("35", "70")),
    ("Riverbend Community HMO", "RBH05", PlanType.HMO, 90, "07", ("15", "30")),
    ("Prairie Cooperative Health", "PCH31", PlanType.COMMERCIAL, 365, "08", ("25", "45")),
    ("TRICARE (demo region)", "TRIC9", PlanType.TRICARE, 365, "09", ("0", "0")),
    ("Keystone Workers' Compensation", "KWC44", PlanType.WORKERS_COMP, 365, "10", ("0", "0")),
    ("Bluewater Medicare Advantage", "BWMA2", PlanType.HMO, 180, "11", ("10", "35")),
)
COMMERCIAL = ("Lakeshore", "Summit", "Evergreen", "Harbor", "Riverbend Community", "Prairie")


def _phone(rng: random.Random) -> str:
    return f"+1{rng.choice(AREA_CODES)}55501{rng.randint(0, 99):02d}"


def _birth(rng: random.Random, today: date, low: int, high: int) -> date:
    return today - timedelta(days=rng.randint(low * 365 + 1, high * 365 + 300))


def _language(rng: random.Random) -> str:
    return rng.choices([code for code, _ in LANGUAGES], [w for _, w in LANGUAGES])[0]


def make_payers(ctx) -> list[Payer]:
    state = ctx.practice.state if ctx.practice else "IL"
    city = ctx.practice.city if ctx.practice else "Springfield"
    payers = []
    for n, (name, payer_id, plan, days, phone, _copays) in enumerate(PAYERS):
        payers.append(
            services.payer_save(
                actor=None,
                name=name.format(state=state),
                payer_id=payer_id.format(state=state),
                plan_type=plan,
                timely_filing_days=days,
                phone=f"+1{AREA_CODES[n % len(AREA_CODES)]}555015{phone[-1]}",
                address_line1=f"PO Box {1000 + 37 * n}",
                city=city if plan == PlanType.MEDICAID else "Claims Center",
                state=state,
                zip_code=f"{ctx.rng.randint(10000, 99999)}",
            )
        )
    return payers


def _patient(rng, today, *, sex=None, last=None, born=None, phone=None, address=None) -> Patient:
    sex = sex or rng.choices(["F", "M", "X", "U"], [50, 48, 1, 1])[0]
    first_pool = FEMALE if sex == "F" else MALE if sex == "M" else FEMALE + MALE
    street, city, state, zip_code = address
    patient = Patient(
        first_name=rng.choice(first_pool),
        middle_name=rng.choice(first_pool) if rng.random() < 0.4 else "",
        last_name=last or rng.choice(LAST),
        date_of_birth=born or _birth(rng, today, 18, 92),
        sex=sex,
        phone=phone or _phone(rng),
        phone_type=rng.choices(["mobile", "home", "work"], [80, 15, 5])[0],
        preferred_language=_language(rng),
        address_line1=street,
        city=city,
        state=state,
        zip_code=zip_code,
    )
    patient.email = f"{patient.first_name[0]}{patient.last_name}{rng.randint(1, 999)}@example.com"
    patient.email = patient.email.lower().replace(" ", "").replace("'", "")
    patient.email = patient.email.encode("ascii", "ignore").decode()
    patient.contact_by_sms = patient.phone_type == "mobile" and rng.random() < 0.7
    patient.contact_by_email = rng.random() < 0.3
    patient.interpreter_needed = patient.preferred_language != "en" and rng.random() < 0.5
    return patient


def make_patients(ctx) -> None:
    """Households of adults and children; most insured, some with two plans, some lapsed."""
    rng, today = ctx.rng, ctx.today
    practice = ctx.practice
    city = practice.city if practice else "Springfield"
    state = practice.state if practice else "IL"
    zip_prefix = practice.zip_code[:3] if practice else "627"
    payers = {p.payer_id: p for p in make_payers(ctx)}
    by_plan: dict[str, list[Payer]] = {}
    for payer in payers.values():
        by_plan.setdefault(payer.plan_type, []).append(payer)
    commercial = [p for p in payers.values() if p.plan_type in ("commercial", "ppo", "hmo")]
    target = ctx.count(small=400, large=20_000)

    adults: list[Patient] = []
    children: list[tuple[Patient, int]] = []  # (child, index of the guarantor adult)
    while len(adults) + len(children) < target:
        address = (
            f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
            city if rng.random() < 0.7 else f"{city} Heights",
            state,
            f"{zip_prefix}{rng.randint(10, 99)}",
        )
        head = _patient(rng, today, address=address)
        adults.append(head)
        if rng.random() < 0.35 and head.age_on(today) < 60:
            partner_sex = "M" if head.sex == "F" else "F"
            partner = _patient(
                rng, today, sex=partner_sex, last=head.last_name, phone=head.phone, address=address,
                born=_birth(rng, today, max(head.age_on(today) - 6, 18), head.age_on(today) + 6),
            )  # fmt: skip
            partner.phone = _phone(rng) if rng.random() < 0.6 else head.phone
            adults.append(partner)
            if 25 <= head.age_on(today) <= 50:
                for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                    child = _patient(
                        rng, today, last=head.last_name, phone=head.phone, address=address,
                        born=_birth(rng, today, 0, min(17, head.age_on(today) - 20)),
                    )  # fmt: skip
                    child.contact_by_sms = child.contact_by_email = False
                    child.email = ""
                    children.append((child, len(adults) - 2))
    patients = adults + [c for c, _ in children]
    patients = patients[:target]
    for patient, mrn in zip(patients, services.reserve_mrns(len(patients)), strict=True):
        patient.mrn = mrn
        patient.refresh_search_keys()
    created_adults = Patient.objects.bulk_create(
        adults[: min(len(adults), target)], batch_size=2000
    )
    kept_children = [(c, i) for c, i in children if c.mrn]
    for child, parent_index in kept_children:
        parent = created_adults[parent_index]
        child.guarantor_relationship = Relationship.PARENT
        child.guarantor_patient_id = parent.pk
    created_children = Patient.objects.bulk_create([c for c, _ in kept_children], batch_size=2000)

    # Coverages.
    coverages: list[Coverage] = []
    parent_coverage: dict[int, tuple[Payer, str, str]] = {}

    def cover(patient, payer, priority, *, effective, end=None, member=None, group="", sub=None):
        copay = next(
            (c for n, i, _, _, _, c in PAYERS if i.format(state=state) == payer.payer_id),
            ("0", "0"),
        )
        coverage = Coverage(
            patient_id=patient.pk, payer=payer, priority=priority, effective_date=effective,
            end_date=end, member_id=member or f"{payer.payer_id[:3]}{rng.randint(10**8, 10**9 - 1)}",
            group_number=group, copay=Decimal(copay[0]), specialist_copay=Decimal(copay[1]),
        )  # fmt: skip
        if sub is not None:
            coverage.subscriber_relationship = SubscriberRelationship.CHILD
            coverage.subscriber_first_name = sub.first_name
            coverage.subscriber_last_name = sub.last_name
            coverage.subscriber_date_of_birth = sub.date_of_birth
            coverage.subscriber_sex = sub.sex
        coverages.append(coverage)
        return coverage

    def since(patient) -> date:
        start = max(patient.date_of_birth, today - timedelta(days=rng.randint(30, 3650)))
        return start

    for patient in created_adults:
        roll = rng.random()
        if roll < 0.08:
            continue  # self-pay
        age = patient.age_on(today)
        if age >= 65:
            primary = by_plan["medicare"][0]
            if rng.random() < 0.25:
                primary = payers["BWMA2"]
        elif roll < 0.20:
            primary = by_plan["medicaid"][0]
        elif roll < 0.23:
            primary = by_plan["tricare"][0]
        else:
            primary = rng.choice(commercial)
        effective = since(patient)
        if rng.random() < 0.12:  # an earlier plan that ended when this one began
            old_start = max(
                patient.date_of_birth, effective - timedelta(days=rng.randint(200, 1500))
            )
            if old_start < effective - timedelta(days=1):
                cover(patient, rng.choice(commercial), 1, effective=old_start,
                      end=effective - timedelta(days=1))  # fmt: skip
        group = (
            f"G{rng.randint(1000, 99999)}"
            if primary.plan_type in ("commercial", "ppo", "hmo")
            else ""
        )
        main = cover(patient, primary, 1, effective=effective, group=group)
        parent_coverage[patient.pk] = (primary, main.member_id, group)
        if age >= 65 and primary.plan_type == "medicare" and rng.random() < 0.35:
            cover(patient, rng.choice(commercial + by_plan["medicaid"]), 2, effective=effective)
        elif age < 65 and rng.random() < 0.06:
            cover(patient, rng.choice(commercial), 2, effective=since(patient))
    adults_by_pk = {p.pk: p for p in created_adults}
    for child in created_children:
        parent_id = child.guarantor_patient_id
        if parent_id in parent_coverage and rng.random() < 0.85:
            payer, member, group = parent_coverage[parent_id]
            parent = adults_by_pk[parent_id]
            cover(child, payer, 1, effective=max(child.date_of_birth, today - timedelta(days=900)),
                  member=member, group=group, sub=parent)  # fmt: skip
        elif rng.random() < 0.7:
            cover(child, by_plan["medicaid"][0], 1, effective=child.date_of_birth)
    Coverage.objects.bulk_create(coverages, batch_size=2000)

    # Eligibility checks on a share of current coverages, and referrals for HMO members.
    front_desk = ctx.users.get("front_desk", [None])[0] if ctx.users else None
    now = timezone.now()
    checks, authorizations = [], []
    current = Coverage.objects.filter(end_date__isnull=True, priority=1).select_related("payer")
    for coverage in current.iterator(chunk_size=2000):
        if rng.random() < 0.5:
            checks.append(EligibilityCheck(
                coverage=coverage, checked_at=now - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 600)),
                checked_by=front_desk, service_date=today - timedelta(days=rng.randint(0, 120)),
                method=EligibilityMethod.MANUAL,
                status=rng.choices([EligibilityStatus.ACTIVE, EligibilityStatus.INACTIVE,
                                    EligibilityStatus.UNKNOWN], [90, 4, 6])[0],
                reference=f"REF{rng.randint(100000, 999999)}",
            ))  # fmt: skip
        if coverage.payer.requires_referral and rng.random() < 0.6:
            start = today - timedelta(days=rng.randint(0, 150))
            allowed = rng.choice([3, 6, 12, None])
            authorizations.append(Authorization(
                patient_id=coverage.patient_id, coverage=coverage, kind=AuthorizationKind.REFERRAL,
                number=f"RF{rng.randint(10**6, 10**7 - 1)}",
                referring_provider_name=f"Dr. {rng.choice(FEMALE + MALE)} {rng.choice(LAST)}",
                valid_from=start, valid_to=start + timedelta(days=rng.choice([90, 180, 365])),
                visits_allowed=allowed, visits_used=rng.randint(0, allowed or 4) if allowed else 1,
            ))  # fmt: skip
    EligibilityCheck.objects.bulk_create(checks, batch_size=2000)
    Authorization.objects.bulk_create(authorizations, batch_size=2000)

    make_duplicates(ctx, created_adults, count=ctx.count(small=6, large=40))
    ctx.shared["payers"] = list(payers.values())
    ctx.shared["patient_count"] = Patient.objects.count()


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 4:
        return name + name[-1]
    i = rng.randint(1, len(name) - 2)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def make_duplicates(ctx, adults: list[Patient], *, count: int) -> list[Patient]:
    """Second records of existing patients, as if registered again before anyone noticed."""
    from medoffice.patients.matching import NICKNAMES

    rng = ctx.rng
    made = []
    for original in rng.sample(adults, min(count, len(adults))):
        copy = Patient(
            first_name=original.first_name, last_name=original.last_name,
            date_of_birth=original.date_of_birth, sex=original.sex,
            phone=original.phone if rng.random() < 0.5 else _phone(rng),
            address_line1=original.address_line1, city=original.city, state=original.state,
            zip_code=original.zip_code, preferred_language=original.preferred_language,
        )  # fmt: skip
        kind = rng.choice(["typo", "nickname", "swapped", "case"])
        nicknames = sorted(
            NICKNAMES.get(original.first_name.lower(), set()) - {original.first_name.lower()}
        )
        if kind == "nickname" and nicknames:
            copy.first_name = rng.choice(nicknames).title()
        elif kind == "swapped":
            copy.first_name, copy.last_name = original.last_name, original.first_name
        elif kind == "case":
            copy.last_name = original.last_name.upper()
        else:
            copy.last_name = _typo(rng, original.last_name)
        copy.mrn = services.next_mrn()
        copy.refresh_search_keys()
        made.append(copy)
    return Patient.objects.bulk_create(made)


def register() -> None:
    try:
        from medoffice.core.demo import register_demo_step
    except ImportError:  # pragma: no cover
        return
    register_demo_step("patients", make_patients, order=10)
