"""A demo network so that every page has something to show (`flask --app wsgi demo`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from branches import services as branches
from branches.models import JoinPolicy, Role
from planner.accounts import services as accounts
from planner.accounts.models import User
from planner.checkin import services as checkin
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.localtime import utc_to_local
from planner.events.models import EventStatus
from planner.events.recurrence import Frequency, RepeatRule
from planner.funnel import services as funnel
from planner.funnel.models import Channel
from planner.registrations import services as registrations

DEMO_PASSWORD = "juhui-demo-2026"

CITIES = [
    # slug, name, city, join policy
    ("beijing", "北京分站", "北京", JoinPolicy.OPEN),
    ("shanghai", "上海分站", "上海", JoinPolicy.OPEN),
    ("chengdu", "成都分站", "成都", JoinPolicy.APPROVAL),
    ("hangzhou", "杭州分站", "Hangzhou", JoinPolicy.OPEN),
    ("london", "London Chapter", "London", JoinPolicy.OPEN),
]

VENUES = {
    "beijing": [("朝阳共享空间", "朝阳区建国路 88 号", 60),
                ("海淀书房", "海淀区中关村大街 27 号", 25)],
    "shanghai": [("静安咖啡馆", "静安区南京西路 1266 号", 40)],
    "chengdu": [("玉林小酒馆", "武侯区玉林西路 55 号", 30)],
    "hangzhou": [("西湖茶室", "西湖区北山街 10 号", 20)],
    "london": [("The Reading Room", "12 Bloomsbury Square, London WC1A", 45)],
}

MEMBER_NAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰",
                "吴婷", "Alice Smith", "Ben Jones"]


def _person(email: str, name: str, *, admin: bool = False, locale: str = "zh_CN") -> User:
    profile = accounts.Profile(display_name=name, phone=None, locale=locale,
                               timezone="Asia/Shanghai")
    return accounts.sign_up(email, DEMO_PASSWORD, profile, is_admin=admin)


def load_demo() -> list[tuple[str, str]]:
    """Create the demo network through the services, so every rule applies. Returns accounts."""
    admin = _person("admin@juhui.example", "总部管理员", admin=True)
    accounts_made = [("network admin", admin.email)]
    members = [_person(f"member{i}@juhui.example", name, locale="en" if i >= 10 else "zh_CN")
               for i, name in enumerate(MEMBER_NAMES)]
    for number, (slug, name, city, policy) in enumerate(CITIES):
        branch = branches.create_branch(admin, branches.BranchInput(
            name=name, city=city, slug=slug, join_policy=policy,
            locale="en" if slug == "london" else "zh_CN"))
        lead = _person(f"lead.{slug}@juhui.example", f"{name} Lead")
        staff = _person(f"door.{slug}@juhui.example", f"{name} Door")
        branches.set_role(admin, branch, lead.id, Role.LEAD)
        for venue_name, address, capacity in VENUES[slug]:
            branches.save_venue(lead, branch, branches.VenueInput(venue_name, address, capacity))
        for member in [staff, *members[number::2]]:
            branches.join_branch(member, branch)
            if branch.join_policy is JoinPolicy.APPROVAL and member is not members[-1]:
                branches.review_join_request(lead, branch, member.id, approve=True)
        branches.set_role(lead, branch, staff.id, Role.STAFF)
        accounts_made += [(f"lead of {slug}", lead.email), (f"door staff of {slug}", staff.email)]
    beijing = branches.get_branch("beijing")
    branches.remove_member(admin, beijing, members[2].id,
                           "Repeated spam in the group chat", ban=True)
    _meetups(members)
    _invite_links("beijing")
    _early_arrivals("beijing")
    accounts_made.append(("member", members[0].email))
    return accounts_made


MEETUPS: list[tuple[str, str, int | None, int, int]] = [
    # branch slug, title, days from today (None: within the hour), local start hour, repeats
    ("beijing", "茶话会 Tea and talk", None, 0, 1),  # its door is open: the early arrivals
    ("beijing", "桌游之夜 Board game night", 3, 19, 4),
    ("beijing", "读书会：《三体》", 10, 14, 1),
    ("shanghai", "Python 上海线下交流", 5, 19, 1),
    ("chengdu", "火锅与产品经理", 7, 18, 1),
    ("hangzhou", "西湖晨跑", 2, 7, 3),
    ("london", "Mandarin & English exchange", 6, 18, 2),
]


def _meetups(members: list[User]) -> None:
    """Upcoming meetups (some repeating) with RSVPs, so pages and the waitlist have content."""
    now = utc_to_local(utcnow(), "Asia/Shanghai")
    for slug, title, days, hour, count in MEETUPS:
        branch = branches.get_branch(slug)
        lead = next(m.user for m in branches.memberships(branch) if m.role is Role.LEAD)
        venue = branch.venues[0]
        start = _start(now, days, hour)
        created = events.schedule(
            lead, branch, events.EventInput(
                title=title, description="**欢迎新朋友！** Everyone is welcome.",
                starts_local=start, ends_local=start + timedelta(hours=2), venue_id=venue.id,
                status=EventStatus.PUBLISHED, setup_minutes=30, teardown_minutes=15),
            RepeatRule(Frequency.WEEKLY, count=count) if count > 1 else None)
        for member in members[:8]:
            membership = branches.membership_of(member, branch)
            if membership is not None and membership.is_active:
                registrations.rsvp(member, created[0].id, guests=0)


def _start(now: datetime, days: int | None, hour: int) -> datetime:
    """A meetup's local start; days=None starts within the hour, so its door is already open
    (the door takes scans from CHECKIN_OPENS_BEFORE the start)."""
    if days is None:
        return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return datetime.combine(now.date() + timedelta(days=days), time(hour))


DEMO_READER = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47"


def _invite_links(slug: str) -> None:
    """Links for the next meetup in a chat group and on a poster, with visitors, and the first
    RSVPs credited to the chat group, so the funnel pages have something to show."""
    branch = branches.get_branch(slug)
    lead = next(m.user for m in branches.memberships(branch) if m.role is Role.LEAD)
    event = events.upcoming_events(branch)[0]
    chat = funnel.create_link(lead, branch, "北京桌游群", Channel.CHAT_GROUP, event)
    poster = funnel.create_link(lead, branch, "Poster at the café", Channel.POSTER, event)
    for link, visitors in ((chat, 12), (poster, 5)):
        for number in range(visitors):
            funnel.record_visit(link, f"demo-{link.id}-{number}", DEMO_READER)
    for registration in registrations.registrations(lead, event)[:3]:
        registration.invite_link_id, registration.source = chat.id, chat.label
    db.session.commit()


def _early_arrivals(slug: str) -> None:
    """The door of the branch's next meetup has opened: some are in, one came unannounced."""
    branch = branches.get_branch(slug)
    staff = next(m.user for m in branches.memberships(branch) if m.role is Role.STAFF)
    event = events.upcoming_events(branch)[0]
    going = [r for r in registrations.registrations(staff, event) if r.ticket_code]
    for registration in going[: len(going) // 2]:
        checkin.redeem(staff, event.id, ticket_code=registration.ticket_code, door="A")
    checkin.register_walk_in(staff, event.id, checkin.WalkIn(
        "路过的小王", "13912345678", source="北京桌游群"), door="A")
    db.session.commit()
