# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment(object):

    # Documents mesos_connection_argspec() in plugins/module_utils/_argspec.py; change both together.
    DOCUMENTATION = r"""
options:
  master_url:
    description:
      - One or more base URLs of the Mesos masters, such as V(http://m1:5050).
      - The module finds the leading master itself by asking C(/master/redirect) of these masters in order,
        so a list of all masters (or any one of them, leader or standby) is enough.
      - A URL without a scheme gets V(http://).
      - If not set, the value of the environment variable E(MESOS_MASTER_URL) is used (comma separated). One of
        the two is required; without either the module fails, naming every way to give the masters, and changes
        nothing.
    type: list
    elements: str
    aliases: [masters]
    version_added: 1.0.0
  principal:
    description:
      - Principal for HTTP Basic authentication.
      - Needed when the masters run with C(--authenticate_http_readonly); later builds of the allocator module
        forward these credentials to the master's own C(/master/state) to check for the leader.
      - If not set, the value of the environment variable E(MESOS_PRINCIPAL) is used.
    type: str
    aliases: [url_username]
    version_added: 1.0.0
  secret:
    description:
      - Secret (password) of O(principal).
      - If not set, the value of the environment variable E(MESOS_SECRET) is used.
    type: str
    aliases: [url_password]
    version_added: 1.0.0
  validate_certs:
    description:
      - Verify the masters' TLS certificates. Set to V(false) only for test clusters.
    type: bool
    default: true
    version_added: 1.0.0
  ca_path:
    description:
      - PEM file with the CA certificate(s) to verify the masters' certificates against, instead of the
        system's trust store.
    type: path
    version_added: 1.0.0
  client_cert:
    description:
      - PEM file with a client certificate (and, without O(client_key), its key) for mutual TLS.
    type: path
    version_added: 1.0.0
  client_key:
    description:
      - PEM file with the private key of O(client_cert).
    type: path
    version_added: 1.0.0
  timeout:
    description:
      - Seconds one HTTP request may take in all (greater than 0), from connecting to the last byte of the answer's body. A master
        or proxy that sends its answer too slowly fails the request at this deadline, however steadily the bytes
        come.
      - A request that timed out is sent once more before the task fails.
    type: float
    default: 10
    version_added: 1.0.0
  max_body_size:
    description:
      - The largest answer body accepted from a master, both as sent and once unpacked from gzip, in bytes or
        with a unit such as V(128M) or V(1G). A larger answer fails the task with an error naming this limit.
      - The default holds the C(/master/state-summary) of a cluster of 10,000 agents many times over; raise it
        only when the error says so.
    type: bytes
    default: 128M
    version_added: 1.0.0
  leader_timeout:
    description:
      - Seconds to keep looking for a leading master while the masters answer C(503 No leader elected),
        refuse connections or do not answer.
      - The same bound applies when the leader is lost in the middle of the task.
      - V(0) asks each master once. A negative, infinite or NaN value fails the task before anything is changed.
    type: float
    default: 30
    version_added: 1.0.0
requirements:
  - requests
notes:
  - >-
    Which hosts get the credentials: the module sends O(principal) and O(secret) only to the scheme, host and port
    of the URLs in O(master_url), and to the leader that one of those masters names in its C(/master/redirect)
    answer. It never follows a redirect by itself: a C(307) from any other endpoint only makes it ask the
    configured masters for the leader again. A redirect from V(https) to V(http) is refused.
  - >-
    Proxies come from the usual environment variables (E(HTTPS_PROXY), E(HTTP_PROXY), E(NO_PROXY)); with
    O(validate_certs=true) and no O(ca_path), E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) is used when set, else
    the trust store of C(requests). C(~/.netrc) is never read.
  - >-
    Requests are retried a bounded number of times: refused connections, timeouts and the HTTP status codes
    408, 429, 502, 503 and 504 (honouring C(Retry-After)).
"""
