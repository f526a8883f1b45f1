from __future__ import annotations

from failcast.auth.password_policy import common_passwords, problems


def test_the_common_password_list_is_shipped_lower_cased() -> None:
    words = common_passwords()
    assert len(words) >= 3000
    assert {"123456", "password", "qwerty123", "iloveyou", "password1234"} <= words
    assert all(word == word.lower() for word in words)


def test_acceptable_passphrases_pass() -> None:
    assert problems("correct horse battery staple", "ada@example.com") == []
    assert problems("tangerine submarine orchestra") == []


def test_short_common_and_padded_common_passwords_are_refused() -> None:
    assert problems("short") == ["must be at least 12 characters long"]
    for weak in ["qwertyuiop123", "Password123456", "iloveyou2024!!", "123456789012"]:
        assert problems(weak) == ["is too common; choose a passphrase of several unrelated words"]
    assert problems("abababababab") == ["repeats too few different characters"]


def test_passwords_containing_the_email_name_are_refused() -> None:
    assert problems("margaret-hamilton-1969", "Margaret-Hamilton@nasa.gov") == [
        "must not contain your email address"
    ]
    # Very short local parts would match half the dictionary, so they are not checked.
    assert problems("cosmic tangerine voyage", "jo@example.com") == []
