"""Personal referrals: the /r/<code> link and its signed cookie, crediting at sign-up, the link on
the profile, and the branch's top referrers over a hand-built chain with exact figures.

The chain (signed up in this order): Rui (Chengdu member) invited Ada and Abe; Ada invited Bo;
Bo invited Cai. Sam (Chengdu member) invited Sui. Tom (Beijing only) invited Tia.
At Chengdu: Ada came to M1 and M2, Bo and Sui to M1, Tia to M2. Cai came only to Beijing's X.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from branches.services import join_branch
from planner.accounts.models import User
from planner.accounts.services import Profile, sign_up
from planner.core.attribution import REFERRAL_COOKIE
from planner.core.errors import NotAllowed
from planner.core.extensions import db
from planner.funnel import services
from planner.funnel.referrals import ReferrerRow, top_referrers
from planner.funnel.services import refer, referral_code
from planner.registrations import services as registrations
from tests.conftest import login
from tests.test_engagement import _statements_during, come, held, meetup

SIGNUP = {"email": "new@example.com", "password": "a long password", "display_name": "Newbie",
          "locale": "en", "timezone": "Asia/Shanghai"}


@pytest.fixture
def chain(cast, make_user) -> dict[str, User]:
    people = {name: make_user(name) for name in
              ("Rui", "Ada", "Abe", "Bo", "Cai", "Sam", "Sui", "Tom", "Tia")}
    for invitee, inviter in (("Ada", "Rui"), ("Abe", "Rui"), ("Bo", "Ada"), ("Cai", "Bo"),
                             ("Sui", "Sam"), ("Tia", "Tom")):
        refer(people[invitee], referral_code(people[inviter]))
    for name in ("Rui", "Sam"):
        join_branch(people[name], cast.branch)
    join_branch(people["Tom"], cast.other_branch)
    m1, m2 = meetup(cast.lead, cast.branch, "M1"), meetup(cast.lead, cast.branch, "M2")
    x = meetup(cast.other_lead, cast.other_branch, "X")
    for made, names in ((m1, ("Ada", "Bo", "Sui")), (m2, ("Ada", "Tia"))):
        for name in names:
            come(cast.lead, registrations.rsvp(people[name], made.id))
    come(cast.other_lead, registrations.rsvp(people["Cai"], x.id))
    for made, days in ((m1, 30), (m2, 10), (x, 20)):
        held(made, days)
    db.session.commit()
    return people


def test_top_referrers_count_the_whole_tree(chain, cast) -> None:
    rui, sam = chain["Rui"], chain["Sam"]
    assert top_referrers(cast.branch) == [
        ReferrerRow(rui.id, "Rui", direct=2, further=2, attended=2, came_back=1),
        ReferrerRow(sam.id, "Sam", direct=1, further=0, attended=1, came_back=0)]
    # Beijing's only member-referrer is Tom; Tia came to Chengdu, not to Beijing.
    assert top_referrers(cast.other_branch) == [
        ReferrerRow(chain["Tom"].id, "Tom", direct=1, further=0, attended=0, came_back=0)]


def test_top_referrers_is_one_query_however_deep(chain, cast, make_user) -> None:
    assert cast.branch.id
    before = _statements_during(lambda: top_referrers(cast.branch))
    previous = chain["Cai"]
    for n in range(15):  # a chain fifteen generations deeper
        person = make_user(f"Deep {n}")
        refer(person, referral_code(previous))
        previous = person
    assert cast.branch.id
    rows: list[ReferrerRow] = []
    after = _statements_during(lambda: rows.extend(top_referrers(cast.branch)))
    assert (len(before), len(after)) == (1, 1)
    assert (rows[0].direct, rows[0].further) == (2, 17)


def test_only_leads_see_top_referrers(chain, cast) -> None:
    for person in (cast.staff, cast.member, cast.other_lead, cast.outsider):
        with pytest.raises(NotAllowed):
            services.top_referrers(person, cast.branch)
    assert len(services.top_referrers(cast.admin, cast.branch)) == 2


def test_branch_funnel_page_shows_top_referrers(client, chain, cast) -> None:
    login(client, cast.lead)
    page = client.get(f"/branches/{cast.branch.slug}/funnel")
    assert page.status_code == 200
    assert ('<tr><th scope="row">Rui</th><td>2</td><td>2</td><td>2</td><td>1</td></tr>'
            in page.text)
    assert 'id="trend-chart"' in page.text and "Registered and attended per month" in page.text


def test_link_cookie_and_credit_at_sign_up(client, chain) -> None:
    rui = chain["Rui"]
    response = client.get(f"/r/{referral_code(rui)}")
    assert response.status_code == 302 and response.headers["Location"] == "/signup"
    [cookie] = response.headers.getlist("Set-Cookie")
    assert cookie.startswith(f"{REFERRAL_COOKIE}=") and "HttpOnly" in cookie
    signed_up = client.post("/signup", data=SIGNUP)
    assert signed_up.status_code == 302
    assert f"{REFERRAL_COOKIE}=;" in "".join(signed_up.headers.getlist("Set-Cookie"))
    newbie = db.session.scalar(select(User).where(User.email == "new@example.com"))
    assert newbie.referred_by_id == rui.id


def test_sign_up_credits_the_code_the_edge_passes_not_the_request(chain) -> None:
    """The sign-up service reads no cookie: it publishes SignedUp with the code given and the
    funnel records the referrer; an unknown code credits nobody, and the sign-up stands."""
    def newcomer(email: str, code: str) -> User:
        return sign_up(email, "a long password", Profile("New", None, "en", "Asia/Shanghai"),
                       referral_code=code)

    invited = newcomer("invited@example.com", referral_code(chain["Rui"]))
    stray = newcomer("stray@example.com", "no-such-code")
    assert (invited.referred_by_id, stray.referred_by_id) == (chain["Rui"].id, None)


def test_forged_or_unknown_codes_credit_nobody(client, chain) -> None:
    assert client.get("/r/no-such-code").status_code == 404
    client.set_cookie(REFERRAL_COOKIE, referral_code(chain["Rui"]))  # unsigned
    assert client.post("/signup", data=SIGNUP).status_code == 302
    newbie = db.session.scalar(select(User).where(User.email == "new@example.com"))
    assert newbie.referred_by_id is None


def test_profile_shows_the_personal_link(client, cast) -> None:
    login(client, cast.member)
    page = client.get("/profile")
    db.session.refresh(cast.member)
    assert f"http://localhost/r/{cast.member.referral_code}" in page.text
    assert client.get(f"/r/{cast.member.referral_code}").headers["Location"] == "/branches"
