"""Leads manage their branch's venues."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from branches import services
from branches.models import Venue
from planner.core.errors import Conflict, InvalidInput, NotAllowed
from planner.core.extensions import db
from tests.conftest import login


def venue_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Venue)) or 0


def test_venue_without_coordinates_uses_city_centre_marked_approximate(cast):
    venue = services.save_venue(cast.lead, cast.branch,
                                services.VenueInput("Teahouse", "玉林西路 55 号", 30))
    assert venue.coordinates_approximate
    assert (venue.latitude, venue.longitude) == (cast.branch.latitude, cast.branch.longitude)


def test_venue_with_coordinates_and_update(cast):
    venue = services.save_venue(cast.lead, cast.branch, services.VenueInput(
        "Hall", "1 Road", 50, latitude=30.65, longitude=104.05, notes="Lift at the back"))
    assert not venue.coordinates_approximate
    services.save_venue(cast.lead, cast.branch, services.VenueInput("Hall", "2 Road", 60), venue)
    db.session.refresh(venue)
    assert (venue.address, venue.capacity, venue.coordinates_approximate) == ("2 Road", 60, True)


@pytest.mark.parametrize(("data", "field"), [
    ({"capacity": 0}, "capacity"), ({"capacity": -5}, "capacity"),
    ({"capacity": "many"}, "capacity"), ({"name": ""}, "name"), ({"address": ""}, "address"),
    ({"name": "x" * 81}, "name"), ({"latitude": 100, "longitude": 1}, "latitude"),
    ({"latitude": 10, "longitude": -200}, "longitude")])
def test_bad_venue_input_through_the_page(client, cast, data, field):
    login(client, cast.lead)
    form = {"name": "Hall", "address": "1 Road", "capacity": 20} | data
    page = client.post("/branches/chengdu/venues/new", data=form)
    assert page.status_code == 200
    assert f'id="{field}-error"' in page.text, page.text
    assert venue_count() == 0


def test_duplicate_venue_name_and_foreign_branch(cast):
    services.save_venue(cast.lead, cast.branch, services.VenueInput("Hall", "1 Road", 20))
    with pytest.raises(Conflict):
        services.save_venue(cast.lead, cast.branch, services.VenueInput("Hall", "2 Road", 20))
    with pytest.raises(NotAllowed):
        services.save_venue(cast.lead, cast.other_branch, services.VenueInput("X", "Y", 5))
    with pytest.raises(InvalidInput):
        services.save_venue(cast.lead, cast.branch, services.VenueInput("Z", "Y", 0))
    assert venue_count() == 1


def test_venue_page_flow(client, cast):
    login(client, cast.lead)
    response = client.post("/branches/chengdu/venues/new",
                           data={"name": "Book Room", "address": "2 Lane", "capacity": 12})
    assert response.status_code == 302
    page = client.get("/branches/chengdu")
    assert "Book Room" in page.text and "approximate" in page.text
