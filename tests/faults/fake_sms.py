"""A slow SMS provider for the fault tests (``SMS_BACKEND=tests.faults.fake_sms...``): each
call waits ``FAULTS_SMS_DELAY`` seconds, then appends the send's key to ``FAULTS_SMS_RECORD``
(one line per call, O_APPEND, so a process killed mid-way leaves whole lines). Like a real
provider it is keyed: a repeat of a key (a send taken over after its worker died) is one
message to the member, and the test reads the file to tell calls from messages."""

from __future__ import annotations

import os
import time

from campaigns.channels.sms import SmsBackend


class SlowRecordingSms(SmsBackend):
    def send(self, *, key: str, phone: str, text: str) -> None:
        time.sleep(float(os.environ.get("FAULTS_SMS_DELAY", "0.03")))
        fd = os.open(os.environ["FAULTS_SMS_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{key}\n".encode())
        finally:
            os.close(fd)


def calls(path) -> list[str]:
    try:
        with open(path) as record:
            return [line.strip() for line in record if line.strip()]
    except FileNotFoundError:
        return []
