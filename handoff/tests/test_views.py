"""The console page: agents only; everyone else is sent to log in or refused."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.usefixtures("demo_store")


def test_anonymous_visitor_is_sent_to_the_staff_login(client):
    response = client.get("/handoff/console/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/handoff/console/"


@pytest.mark.parametrize("username", ["alice", "manager"])
def test_shoppers_and_other_staff_are_refused(client, username):
    client.force_login(get_user_model().objects.get(username=username))
    response = client.get("/handoff/console/")
    assert response.status_code == 403
    assert b"console.js" not in response.content


def test_agent_gets_the_console_in_their_language(client, agent1):
    agent1.first_name, agent1.last_name = "Mei", "Li"
    agent1.save()
    client.force_login(agent1)
    response = client.get("/handoff/console/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-ws-path="/ws/agent/"' in html
    assert 'data-agent-name="Mei Li"' in html
    assert 'data-capacity="3"' in html
    assert "客服工作台" in html
    english = client.get("/handoff/console/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Agent console" in english.content.decode()
    assert client.post("/handoff/console/").status_code == 405


def test_agent_name_is_escaped_in_the_page(client, agent1):
    from handoff.models import AgentProfile

    AgentProfile.objects.create(user=agent1, display_name='"><script>x</script>')
    client.force_login(agent1)
    html = client.get("/handoff/console/").content.decode()
    assert "<script>x</script>" not in html
    assert 'data-agent-name="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in html


def test_admin_lists_requests_with_the_waiting_time_filter(client, open_chat):
    from handoff import services

    services.handoff_open(conversation=open_chat("v_admin"), reason="complaint")
    client.force_login(get_user_model().objects.get(username="admin"))
    for query in ("", "?waited=lt1", "?status__exact=waiting&priority__exact=1", "?waited=gt15"):
        response = client.get("/admin/handoff/handoffrequest/" + query)
        assert response.status_code == 200
    assert "complaint" in client.get("/admin/handoff/handoffrequest/?waited=lt1").content.decode()
    assert (
        "0 handoff requests"
        in client.get("/admin/handoff/handoffrequest/?waited=gt15").content.decode()
    )
    for page in ("/admin/handoff/cannedreply/", "/admin/handoff/agentprofile/"):
        assert client.get(page).status_code == 200


def test_malformed_agent_hours_stop_the_process_at_start_up():
    env = {**os.environ, "CSBOT_AGENT_HOURS": "9 to 5"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "CSBOT_AGENT_HOURS must look like 09:00-22:00, got '9 to 5'" in result.stderr
