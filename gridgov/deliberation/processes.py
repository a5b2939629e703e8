"""The processes every street starts with: the six steps of Nanyuan (the default) and a
three-phase one (广场夜话: propose, meet, carry out and publish). Data: administrators edit them
and add their own. Seeded by migration 0002 and again by the demo after a reset (`seed`)."""

SIX = ("六步议事", "居民提、楼长集、平台议、多方商、专人办、结果亮", [
    # name, description, proposals, support, discussion, meeting, execution, published, days
    ("居民提", "居民通过手机、楼栋二维码或楼长提出议题，其他居民附议", True, True, False, False, False, False, None),
    ("楼长集", "楼长收集本楼议题，合并重复，补充走访所闻，转交社区", True, True, False, False, False, False, None),
    ("平台议", "社区结合本月数据选定议题（每月一题），公开讨论", False, True, True, False, False, False, 14),
    ("多方商", "社区召集物业、业委会、驻区单位、居民代表、职能部门协商决定", False, False, True, True, False, False, None),
    ("专人办", "决定明确一名责任人、期限和事项，转为事件、项目或志愿活动办理", False, False, False, False, True, False, None),
    ("结果亮", "向本片居民公开结果和照片，居民评价", False, False, False, False, False, True, None),
])
THREE = ("三步议事", "广场夜话：提议附议、协商决定、落实公开", [
    ("提议", "居民提出并附议、讨论", True, True, True, False, False, False, None),
    ("商议", "召集相关方现场协商决定", False, False, True, True, False, False, None),
    ("落实公开", "专人落实并公开结果，居民评价", False, False, False, False, True, True, None),
])


def seed(Process=None, Phase=None) -> int:
    """Create the two processes unless a street-wide process of the same name exists (idempotent);
    the number created. Takes the model classes (a migration passes its historical models)."""
    if Process is None:
        from .models import Phase, Process
    made = 0
    for (name, desc, phases), default in ((SIX, True), (THREE, False)):
        if Process.objects.filter(name=name, node__isnull=True).exists():
            continue
        made += 1
        default = default and not Process.objects.filter(is_default=True, node__isnull=True).exists()
        p = Process.objects.create(name=name, description=desc, is_default=default)
        for i, (pname, pdesc, *flags, days) in enumerate(phases, 1):
            Phase.objects.create(process=p, position=i, name=pname, description=pdesc, days=days,
                                 **dict(zip(("proposals_open", "support_open", "discussion_open", "meeting",
                                             "execution", "published"), flags)))
    return made
