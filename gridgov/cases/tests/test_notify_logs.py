"""Issue 16, item 13 (part): the console channel logged recipients' names and case texts to
the server's stdout. It logs ids only now."""

import logging

from gridgov.cases import notify


def test_the_console_logs_no_names_and_no_texts(people, report, caplog, settings):
    settings.CASES_NOTIFY_CHANNELS = "console"
    gl = people["gl"]
    gl.display_name = "王秀英"
    gl.save()
    case = report(text="我叫李建国，住3号楼2单元501，身份证110101199003071234，门口路灯坏了")
    notify.queue(gl, "assigned", f"新事件待受理：{case.item.name}", f"{case.number} {case.text[:60]}", case)
    with caplog.at_level(logging.WARNING, logger="gridgov.cases.notify"):
        assert notify.deliver()["sent"] >= 1
    text = caplog.text
    assert f"user #{gl.pk}" in text and f"case #{case.pk}" in text
    for secret in ("王秀英", "李建国", "501", "110101199003071234", "路灯坏了", "新事件待受理"):
        assert secret not in text, secret
