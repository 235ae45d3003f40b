"""Job creation the API server refuses: a quota or a grant (403) waits with a reason and one Warning
Event and is retried every pass; an invalid Job or a foreign Job holding the name stalls with the
API's message. Nothing crashes the pass, and a later pass creates the Jobs once the cause is gone."""

from __future__ import annotations

from operator_fakes import World

from eventreplay.operator.kube import JobRejected

QUOTA = 'jobs.batch "r-p0" is forbidden: exceeded quota: no-jobs, requested: count/jobs.batch=1, limited: 0'


def test_a_quota_waits_with_a_reason_and_one_event_then_the_jobs_are_created() -> None:
    world = World()
    world.kube.refuse = JobRejected(403, QUOTA)
    first = world.sync()
    assert world.kube.jobs == {}
    assert world.condition("Reconciling") == ("True", "JobCreateFailed")
    assert world.condition("Stalled")[0] == "False"
    reconciling = next(c for c in world.status["conditions"] if c["type"] == "Reconciling")
    assert "exceeded quota: no-jobs" in reconciling["message"]
    assert [(e.type, e.reason) for e in first.events if e.reason == "JobCreateFailed"] == [
        ("Warning", "JobCreateFailed")
    ]
    again = world.sync()  # still refused: no second Event
    assert [e for e in again.events if e.reason == "JobCreateFailed"] == []

    world.kube.refuse = None  # the quota was raised
    world.sync()
    assert len(world.kube.jobs) == 2
    assert world.condition("Reconciling")[1] != "JobCreateFailed"


def test_an_invalid_job_or_a_foreign_name_stalls_with_the_apis_message() -> None:
    for refusal in (
        JobRejected(422, 'Job.batch "r-p0" is invalid: spec.template.spec.containers[0].image: Required value'),
        JobRejected(409, "a Job named r-p0 already exists and is not this replay's"),
    ):
        world = World()
        world.kube.refuse = refusal
        outcome = world.sync()
        assert world.kstatus() == ("False", "False", "True", "JobRejected")
        stalled = next(c for c in world.status["conditions"] if c["type"] == "Stalled")
        assert str(refusal) in stalled["message"]
        assert ("Warning", "JobRejected") in [(e.type, e.reason) for e in outcome.events]
        assert world.kube.jobs == {}
        world.kube.refuse = None  # the foreign Job deleted / the spec fixed: the next pass goes on
        world.sync()
        assert len(world.kube.jobs) == 2 and world.condition("Stalled")[0] == "False"
