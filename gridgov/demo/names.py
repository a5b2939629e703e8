"""Names for the demo street: communities and villages, people, compounds, organizations.

Community and village names come from Fengtai's official division list, read at run time from
../shared/data/geo/fengtai_names.txt relative to the project root (see /work/shared/data/README.md);
a copy of the few names the demo needs is embedded below for installations without that file."""

import os
from pathlib import Path

#: the 13 communities of the 南苑街道 block of fengtai_names.txt (pre-2021 division)
FALLBACK_STREET_COMMUNITIES = [
    "东新华社区", "南庭新苑北区社区", "南庭新苑南区社区", "合顺家园社区", "机场社区", "槐房社区",
    "红房子社区", "翠海明苑社区", "西宏苑社区", "西长街社区", "诚苑社区", "阳光星苑南区社区", "阳光星苑社区",
]
#: villages of the 南苑地区 block that joined the street in 2021
FALLBACK_VILLAGES = ["南苑村", "槐房村", "果园村", "新宫村", "西铁营村"]
#: invented, in the same style, to reach the 17 communities of the seeds
INVENTED_COMMUNITIES = ["南苑北里社区", "警备东路社区", "公和庄社区", "果园东里社区", "京粮家园社区", "苑南社区"]

N_COMMUNITIES = 17
N_VILLAGES = 2


def shared_data_dir() -> Path:
    env = os.environ.get("GRIDGOV_SHARED_DATA")
    if env:
        return Path(env)
    project_root = Path(__file__).resolve().parent.parent.parent
    # ../shared/data from the project root; from a git worktree nested deeper, the nearest ancestor's
    for base in [project_root, *project_root.parents]:
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return project_root.parent / "shared" / "data"


def read_fengtai_names(path: Path | None = None) -> dict[str, list[str]] | None:
    """{street or area name: [community/village names]} from fengtai_names.txt, or None if absent."""
    path = path or shared_data_dir() / "geo" / "fengtai_names.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        depth = len(line) - len(line.lstrip("\t"))
        name = line.strip().split("\t")[0] if line.strip() else ""
        if not name:
            continue
        if depth == 3:
            current = name
            blocks[current] = []
        elif depth == 4 and current:
            blocks[current].append(name)
    return blocks


def level1_names() -> tuple[list[str], list[str], str]:
    """(17 community names, 2 village names, source) for the demo street."""
    blocks = read_fengtai_names()
    if blocks and blocks.get("南苑街道"):
        real = [n for n in blocks["南苑街道"] if n.endswith("社区")]
        villages = [n for n in blocks.get("南苑地区", []) if n.endswith("村")]
        # 南苑村 and 槐房村 first: the villages the street kept after the 2021 adjustment
        villages = sorted(villages, key=lambda n: (n not in ("南苑村", "槐房村"), n))
        source = "fengtai_names.txt"
    else:
        real, villages, source = list(FALLBACK_STREET_COMMUNITIES), list(FALLBACK_VILLAGES), "embedded list"
    communities = real[:N_COMMUNITIES]
    for n in INVENTED_COMMUNITIES:
        if len(communities) >= N_COMMUNITIES:
            break
        if n not in communities:
            communities.append(n)
    villages = (villages + [v for v in FALLBACK_VILLAGES if v not in villages])[:N_VILLAGES]
    return communities, villages, source


# Surnames with their approximate shares (per cent) in northern China.
SURNAMES = [
    ("王", 7.8), ("李", 7.5), ("张", 7.2), ("刘", 5.6), ("赵", 2.9), ("杨", 3.0), ("陈", 3.0), ("孙", 1.9),
    ("马", 1.6), ("高", 1.5), ("郭", 1.5), ("周", 1.4), ("徐", 1.3), ("朱", 1.2), ("胡", 1.1), ("吴", 1.2),
    ("于", 1.0), ("董", 0.9), ("宋", 0.9), ("韩", 0.9), ("田", 0.8), ("杜", 0.7), ("郝", 0.6), ("黄", 1.0),
    ("何", 0.7), ("林", 0.6), ("罗", 0.6), ("郑", 0.7), ("梁", 0.7), ("谢", 0.5), ("唐", 0.6), ("许", 0.6),
    ("冯", 0.7), ("邓", 0.5), ("曹", 0.7), ("彭", 0.4), ("曾", 0.3), ("肖", 0.5), ("袁", 0.5), ("潘", 0.4),
    ("蒋", 0.4), ("蔡", 0.4), ("余", 0.3), ("叶", 0.3), ("程", 0.5), ("苏", 0.5), ("魏", 0.6), ("吕", 0.6),
    ("丁", 0.5), ("任", 0.6), ("沈", 0.3), ("姚", 0.4), ("卢", 0.4), ("姜", 0.6), ("崔", 0.6), ("钟", 0.2),
    ("谭", 0.3), ("陆", 0.3), ("汪", 0.3), ("范", 0.5), ("金", 0.4), ("石", 0.5), ("贾", 0.6), ("夏", 0.3),
    ("付", 0.5), ("方", 0.3), ("白", 0.5), ("孟", 0.5), ("秦", 0.4), ("尹", 0.3), ("薛", 0.4), ("闫", 0.6),
    ("段", 0.3), ("侯", 0.5), ("史", 0.4), ("贺", 0.3), ("毛", 0.3), ("武", 0.5), ("邵", 0.2), ("常", 0.4),
    ("康", 0.3), ("牛", 0.3), ("葛", 0.2), ("穆", 0.1), ("关", 0.2), ("佟", 0.1), ("那", 0.05), ("耿", 0.2),
]

# Characters of given names by generation (born before 1960, 1960–1989, from 1990) and gender.
GIVEN = {
    ("old", "M"): "建国华明军福德志文国庆春生海林永祥忠宝山贵金成发兴荣树财富强俊义",
    ("old", "F"): "秀兰英淑珍凤芳玉桂华琴云霞荣梅素敏翠萍娟丽静淑芬桂芝玉兰",
    ("mid", "M"): "伟刚勇磊涛斌鹏军辉杰强峰宇浩东亮超波海明俊晓建新立志",
    ("mid", "F"): "丽娜静敏燕艳红霞婷颖晶雪莉琳慧晓倩蕾芳玲洁微琴萍",
    ("young", "M"): "浩然宇轩子涵博文梓睿一鸣俊熙思远天佑泽宇明轩嘉懿昊然皓轩宸瑞",
    ("young", "F"): "欣怡梓萱子涵雨桐诗涵可馨一诺佳琪思琪语嫣若汐梦瑶艺菲雨欣紫涵",
}

# Regions (6-digit administrative codes) of the registered and the floating population.
REGISTERED_REGIONS = [("110106", 80), ("110102", 5), ("110105", 5), ("110108", 3), ("110115", 4), ("110224", 3)]
FLOATING_REGIONS = [
    ("130602", 10, "河北省保定市竞秀区"), ("131002", 8, "河北省廊坊市安次区"), ("130102", 6, "河北省石家庄市长安区"),
    ("370102", 5, "山东省济南市历下区"), ("371302", 4, "山东省临沂市兰山区"), ("410102", 7, "河南省郑州市中原区"),
    ("411302", 5, "河南省南阳市宛城区"), ("340102", 5, "安徽省合肥市瑶海区"), ("230102", 3, "黑龙江省哈尔滨市道里区"),
    ("210102", 3, "辽宁省沈阳市和平区"), ("140105", 4, "山西省太原市小店区"), ("150102", 2, "内蒙古自治区呼和浩特市新城区"),
    ("120101", 3, "天津市和平区"), ("420102", 3, "湖北省武汉市江岸区"), ("510104", 3, "四川省成都市锦江区"),
    ("430102", 2, "湖南省长沙市芙蓉区"), ("320102", 2, "江苏省南京市玄武区"), ("220102", 2, "吉林省长春市南关区"),
]
ETHNICITIES = [("汉族", 95.0), ("回族", 2.2), ("满族", 1.8), ("蒙古族", 0.5), ("朝鲜族", 0.2), ("土家族", 0.3)]

COMPOUND_STEMS = [
    "南苑", "槐房", "机场", "警备", "红房子", "西宏", "诚苑", "翠海", "合顺", "阳光", "东新华", "西长街", "公和",
    "果园", "京粮", "新华", "南庭", "苑南", "德鑫", "锦苑", "和谐", "宏远", "永兴", "兴业", "康乐", "福海", "祥和",
    "金苑", "益民", "安和", "大红门", "时村", "石榴", "银地", "广顺", "丰泽", "首开", "华远",
]
COMPOUND_SUFFIX = {
    "old": ["北里", "南里", "东里", "西里", "小区", "平房区"],
    "resettlement": ["家园", "新苑", "嘉园", "新村", "佳苑"],
    "work_unit": ["宿舍", "家属院", "职工宿舍", "干休所"],
    "commercial": ["花园", "雅苑", "公馆", "名苑", "景园", "华府"],
}
WORK_UNITS = ["航天", "机场", "京粮", "铁路", "邮电", "电力", "总后", "市政", "纺织", "医院"]

ROADS = ["南苑路", "警备东路", "槐房路", "南苑东路", "公和庄路", "德贤路", "久敬庄路", "石榴庄路", "成寿寺路", "新华路", "西长街", "红房子路"]
SHOP_KINDS = [
    "便利店", "超市", "餐馆", "面馆", "包子铺", "水果店", "理发店", "药店", "五金店", "洗衣店", "早点铺",
    "菜店", "烟酒店", "快递驿站", "修车铺", "眼镜店", "通讯店", "干洗店", "烧烤店", "蛋糕店",
]
BRAND_SHOPS = ["好邻居", "便利蜂", "物美", "庆丰包子铺", "永辉", "京客隆", "超市发", "7-ELEVEn", "金象大药房", "嘉和一品"]
PROPERTY_COMPANIES = [
    "北京首开物业服务有限公司", "北京京粮物业管理有限责任公司", "北京金隅物业管理有限责任公司", "北京天岳恒房屋经营管理有限公司",
    "北京长城物业集团股份有限公司", "北京南苑物业管理有限公司", "北京丰台区房地产经营管理中心", "北京航天物业管理有限公司",
    "北京万科物业服务有限公司", "北京鑫兆物业管理有限公司", "北京中铁建物业管理有限公司", "北京城建物业管理有限公司",
    "北京华远物业管理有限公司", "北京瑞赛物业管理有限公司", "北京首华物业管理有限公司", "北京中航物业管理有限公司",
]
SOCIAL_ORGS = [
    "社区志愿者协会", "老年协会", "文体协会", "舞蹈队", "合唱团", "书画社", "太极拳协会", "邻里互助会", "社工服务站",
    "调解委员会", "楼门文化促进会", "养老服务驿站", "助残服务站", "青少年成长营", "环保志愿者协会",
]
UNITS = [
    "南苑街道办事处", "南苑派出所", "丰台区城管执法局南苑街道执法队", "南苑社区卫生服务中心", "丰台区第五小学",
    "北京市第十二中学南苑分校", "南苑机场管理处", "京粮集团南苑库", "南苑供电所", "南苑邮政支局",
    "中国航天科工二院南苑园区", "南苑消防救援站", "丰台区市场监督管理局南苑所", "南苑税务所", "北京银行南苑支行",
]
ENTERPRISE_WORDS = ["科技", "商贸", "建筑工程", "餐饮管理", "物流", "文化传媒", "装饰工程", "信息技术", "汽车服务", "家政服务", "医疗器械", "教育咨询"]
ENTERPRISE_STEMS = ["南苑", "恒通", "鑫达", "宏盛", "华信", "中天", "博远", "京南", "瑞丰", "安泰", "晟达", "顺心", "诚信", "永利"]

SECTIONS = ["平安建设办公室", "城市管理办公室", "社区建设办公室", "民生保障办公室", "党群工作办公室", "综合行政执法队"]

CHINESE_NUMERALS = "零一二三四五六七八九十"


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 21 → 二十一 (up to 99)."""
    if n <= 10:
        return CHINESE_NUMERALS[n]
    tens, ones = divmod(n, 10)
    return (CHINESE_NUMERALS[tens] if tens > 1 else "") + "十" + (CHINESE_NUMERALS[ones] if ones else "")
