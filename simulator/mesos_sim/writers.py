"""Field order of the master's JSON documents, as its jsonify writers emit them.

Mesos writes these objects field by field (src/master/http.cpp in 1.0.1; SlaveWriter,
FullFrameworkWriter and ReadOnlyHandler in 1.11's src/master/readonly_handler.cpp), so the
order is fixed and differs between releases. The 1.11 orders were read off a real 1.11.0
master (tests/contract); the 1.0.1 ones from its source. Optional fields are listed where they
would appear; `ordered()` leaves out what a document does not have and keeps fields it does not
list after the listed ones, in their own order.
"""

from __future__ import annotations

STATE_101 = (
    "version git_sha git_branch git_tag build_date build_time build_user start_time elected_time id pid "
    "hostname activated_slaves deactivated_slaves leader cluster log_dir external_log_file flags slaves "
    "frameworks completed_frameworks orphan_tasks unregistered_frameworks"
).split()
STATE_111 = (
    "version git_sha git_branch git_tag build_date build_time build_user start_time elected_time id pid "
    "hostname capabilities activated_slaves deactivated_slaves unreachable_slaves domain leader leader_info "
    "cluster log_dir external_log_file flags slaves recovered_slaves frameworks completed_frameworks "
    "orphan_tasks unregistered_frameworks"
).split()
# The master's own capabilities in 1.11's /master/state.
MASTER_CAPABILITIES_111 = ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"]
LEADER_INFO_111 = "id pid port hostname domain".split()

SLAVE_101 = (
    "id pid hostname registered_time reregistered_time resources used_resources offered_resources "
    "reserved_resources unreserved_resources attributes active version"
).split()
SLAVE_111 = (
    "id hostname port attributes domain pid registered_time reregistered_time resources used_resources "
    "offered_resources reserved_resources unreserved_resources active deactivated version capabilities "
    "drain_info estimated_drain_start_time_seconds"
).split()

FRAMEWORK_101 = (
    "id name pid used_resources offered_resources capabilities hostname webui_url active user "
    "failover_timeout checkpoint role registered_time unregistered_time principal resources "
    "reregistered_time tasks completed_tasks offers executors labels"
).split()
FRAMEWORK_111 = (
    "id name pid used_resources offered_resources capabilities hostname webui_url active connected "
    "recovered user failover_timeout checkpoint registered_time unregistered_time principal resources "
    "role roles reregistered_time tasks unreachable_tasks completed_tasks offers executors "
    "offer_constraints labels"
).split()
# json(JSON::ObjectWriter*, const Task&) in src/common/http.cpp (1.11 adds limits and role).
TASK_101 = "id name framework_id executor_id slave_id state resources statuses user labels discovery container".split()
TASK_111 = (
    "id name framework_id executor_id slave_id state resources limits role statuses user labels discovery "
    "container health_check"
).split()
# The task counters of /master/state-summary's agents and frameworks; 1.11 adds TASK_UNREACHABLE.
TASK_COUNTS_101 = (
    "TASK_STAGING TASK_STARTING TASK_RUNNING TASK_KILLING TASK_FINISHED TASK_KILLED TASK_FAILED TASK_LOST TASK_ERROR"
).split()
TASK_COUNTS_111 = TASK_COUNTS_101 + ["TASK_UNREACHABLE"]
_SUMMARY_FRAMEWORK = "id name pid used_resources offered_resources capabilities hostname webui_url active".split()
SUMMARY_FRAMEWORK_101 = [*_SUMMARY_FRAMEWORK, *TASK_COUNTS_101, "slave_ids"]
SUMMARY_FRAMEWORK_111 = [*_SUMMARY_FRAMEWORK, "connected", "recovered", *TASK_COUNTS_111, "slave_ids"]

STATE_SUMMARY = "hostname cluster slaves frameworks".split()
FRAMEWORKS = "frameworks completed_frameworks unregistered_frameworks".split()


def ordered(doc: dict, order: list[str]) -> dict:
    out = {key: doc[key] for key in order if key in doc}
    out.update((key, value) for key, value in doc.items() if key not in out)
    return out
