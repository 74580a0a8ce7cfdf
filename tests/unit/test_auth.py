"""Dashboard sessions and CSRF tokens: signed, expiring, bound to their session and token."""

from __future__ import annotations

from hookline.auth import Sessions, bearer, token_digest, token_matches

NOW = 1_800_000_000.0


class TestSessions:
    def test_issued_session_checks_until_it_expires(self):
        """A fresh session is valid, and is not once its lifetime has passed."""
        sessions = Sessions(token_digest("a" * 20), lifetime=60)
        value = sessions.issue(now=NOW)
        assert sessions.check(value, now=NOW + 59) is not None
        assert sessions.check(value, now=NOW + 60) is None

    def test_tampering_and_another_token_invalidate(self):
        """Changing any part of the value, or the API token, invalidates the session."""
        sessions = Sessions(token_digest("a" * 20))
        value = sessions.issue(now=NOW)
        expires, nonce, signature = value.split(".")
        for forged in (f"{int(expires) + 9}.{nonce}.{signature}", f"{expires}.{nonce}x.{signature}",
                       f"{expires}.{nonce}.{signature[:-1]}", "", "junk", "1.2"):  # fmt: skip
            assert sessions.check(forged, now=NOW) is None
        assert Sessions(token_digest("b" * 20)).check(value, now=NOW) is None

    def test_csrf_token_is_bound_to_the_session(self):
        """A session's CSRF token is accepted for it and refused for any other session."""
        sessions = Sessions(token_digest("a" * 20))
        one = sessions.check(sessions.issue(now=NOW), now=NOW)
        two = sessions.check(sessions.issue(now=NOW), now=NOW)
        assert one is not None and two is not None
        assert sessions.csrf_ok(one, sessions.csrf_token(one))
        assert not sessions.csrf_ok(two, sessions.csrf_token(one))
        assert not sessions.csrf_ok(one, None) and not sessions.csrf_ok(one, "")

    def test_nothing_issued_contains_the_token(self):
        """Neither the cookie value nor the CSRF token carries the API token."""
        token = "secret-token-0123456789"
        sessions = Sessions(token_digest(token))
        value = sessions.issue()
        session = sessions.check(value)
        assert session is not None
        assert token not in value and token not in sessions.csrf_token(session)


class TestBearer:
    def test_bearer_parsing_and_matching(self):
        """Only `Bearer <token>` is read; the token matches its digest alone."""
        assert bearer({"authorization": "Bearer abc"}) == "abc"
        assert bearer({"authorization": "Basic abc"}) is None
        assert bearer({"authorization": "Bearer "}) is None
        assert bearer({}) is None
        assert token_matches("abc", token_digest("abc"))
        assert not token_matches("abd", token_digest("abc"))
        assert not token_matches(None, token_digest("abc")) and not token_matches("abc", None)


class TestHostileInput:
    def test_non_ascii_cookie_and_csrf_token_are_just_invalid(self):
        """A session cookie or CSRF token with non-ASCII characters is refused, not a crash."""
        sessions = Sessions(token_digest("a" * 20))
        assert sessions.check(f"{int(NOW) + 60}.a.é", now=NOW) is None
        session = sessions.check(sessions.issue(now=NOW), now=NOW)
        assert session is not None
        assert not sessions.csrf_ok(session, "é")


class TestWrongTokenLimiter:
    def make(self, **kw):
        from hookline.auth import WrongTokenLimiter

        self.now = 1000.0
        return WrongTokenLimiter(limit=3, window=60.0, clock=lambda: self.now, **kw)

    def test_an_address_waits_after_too_many_wrong_tokens_until_the_oldest_ages_out(self):
        limiter = self.make()
        for _ in range(3):
            assert limiter.wait("10.0.0.1") == 0.0
            limiter.failed("10.0.0.1")
            self.now += 10
        assert limiter.wait("10.0.0.1") == 30.0  # the first failure, at 1000, ends at 1060
        assert limiter.wait("10.0.0.2") == 0.0  # other addresses are not affected
        self.now = 1060.0
        assert limiter.wait("10.0.0.1") == 0.0

    def test_a_successful_login_forgets_the_failures(self):
        limiter = self.make()
        for _ in range(3):
            limiter.failed("10.0.0.1")
        limiter.succeeded("10.0.0.1")
        assert limiter.wait("10.0.0.1") == 0.0

    def test_memory_is_bounded_by_forgetting_the_least_recent_address(self):
        limiter = self.make(max_clients=2)
        for address in ("a", "b", "c"):
            for _ in range(3):
                limiter.failed(address)
        assert limiter.wait("a") == 0.0  # forgotten
        assert limiter.wait("b") > 0 and limiter.wait("c") > 0

    def test_an_ipv6_64_counts_as_one_client(self):
        """Guesses from many addresses of one IPv6 /64 add up; another /64 is apart."""
        limiter = self.make()
        for host in ("2001:db8::1", "2001:db8::2", "2001:db8::ffff:1"):
            limiter.failed(host)
        assert limiter.wait("2001:db8::9") > 0
        assert limiter.wait("2001:db8:0:1::1") == 0.0
        limiter.failed("::ffff:10.0.0.1")  # an IPv4 caller on a dual-stack socket
        assert limiter.wait("10.0.0.1") == 0.0 and len(limiter._failures["10.0.0.1"]) == 1
