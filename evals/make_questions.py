"""Source of evals/questions_{dev,test}.jsonl. Run: python -m evals.make_questions (rewrites both files).

Questions are written from the three bundled documents as staff and trainers would ask them. They are split
by kind, alternating, into a dev part (tuning) and a test part (reporting only).
"""

from __future__ import annotations

import json
from pathlib import Path

WED_Q = "What are WED's four key principles?"
WED_A = ("WED believes that high road partnerships are effective and sustainable when they are developed and "
         "operated based upon 4 key principles: [1]\n- Industry Driven - Employers and Labor bring first-hand "
         "knowledge of the skills, knowledge, competencies and the nature of the work in their specific industries. [1]"
         "\n- Worker Centered - Respecting and incorporating worker's insights should be part of a larger viewpoint "
         "of inclusion, empowerment and promise to the growth and wellbeing of workers. [1]\n- Community Focused - "
         "Neither economic growth by itself, nor the general demand for labor guarantee access and equity for "
         "disadvantaged workers. [1]\n- Results Measured - High Road Partnerships should enable stakeholders to "
         "address workplace and industry issues through results-oriented, measurable actions outcomes. [1]")


def h(*turns: str) -> list[dict]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]


# (kind, question, facts, evidence, history)
ANSWER = [
    # brochure (000)
    ("factual", "What innovations are changing the fundamental nature of work?",
     [["automation"], ["artificial intelligence"], ["digital platforms"], ["mass retirement"]],
     ["Innovations like automation, artificial intelligence, digital platforms, and mass retirement"], None),
    ("factual", "What do high road training partnerships aim to create?",
     [["economically resilient communities"], ["equity"], ["job quality"]],
     ["aim to create economically resilient communities by focusing first and foremost on equity and job quality"], None),
    ("paraphrase", "Who counts as an industry expert in an HRTP?",
     [["workers"], ["employers"]], ["and employers are recognized as industry experts"], None),
    ("factual", "What does the HRTP partnership model promote?",
     [["systems change"], ["worker power"]], ["This partnership model promotes systems change and worker power"], None),
    ("factual", "Who convenes a partnership?", [["intermediary organizations"]],
     ["Intermediary organizations convene workers, unions and other worker organizations, and employers"], None),
    ("factual", "What is the end goal of a high road partnership?", [["industry-led skills infrastructure"]],
     ["The end goal is not a program or curriculum but an industry-led skills infrastructure"], None),
    ("paraphrase", "Which workers does the HRTP approach try to lift up?",
     [["discrimination"], ["black"], ["undocumented"], ["formerly incarcerated"]],
     ["The approach lifts up workers hardest hit by discrimination"], None),
    ("list", "What kind of jobs do HRTPs commit to generating?",
     [["pay"], ["benefits"], ["physical safety"], ["stable schedule"], ["career pathways"]],
     ["HRTPs commit to generating jobs that provide the pay, benefits, physical safety, stable schedule, and career pathways"], None),
    ("paraphrase", "How do HRTPs help with the shift to a carbon-neutral economy?",
     [["carbon-neutral", "carbon neutral"], ["new workforce opportunities", "adapting"]],
     ["in the transition to a carbon-neutral economy"], None),
    ("factual", "What workforce solutions do HRTPs develop?", [["retention"], ["upskilling"], ["reskilling"]],
     ["HRTPs develop solutions to improve worker retention, upskilling, and reskilling"], None),
    ("paraphrase", "In what ways do workers take part in shaping an HRTP?",
     [["shape training programs", "curricula"], ["mentor"]],
     ["Workers help shape training programs and curricula, train and mentor others"], None),
    ("factual", "What do workers gain from an HRTP?", [["training programs"], ["mentoring"], ["career pathways"]],
     ["All workers gain access to training programs, on-the-job mentoring, and career pathways"], None),
    ("factual", "What do employers gain from HRTPs?", [["high-performing", "reliable workforce"], ["productivity", "profits"]],
     ["Employers gain a high-performing and reliable workforce"], None),
    ("paraphrase", "What do unions get out of a high road training partnership?",
     [["industry standards"], ["higher wages"]],
     ["Worker organizations and unions are able to set industry standards and secure higher wages"], None),
    ("factual", "How do communities benefit from HRTPs?", [["resilient"], ["recruitment pipelines", "climate mitigation"]],
     ["Communities become environmentally and economically resilient"], None),
    ("paraphrase", "What dilemma did the pandemic leave millions of workers facing?",
     [["risk their health and safety"], ["financial devastation"]],
     ["to risk their health and safety or face financial devastation"], None),
    ("factual", "Which principles are the HRTP core components grounded in?",
     [["equity"], ["job quality"], ["climate resilience"]], ["Grounded in Equity, Job Quality, and Climate Resilience Principles"], None),
    # webinar (003)
    ("list", "What does the HRTP 101 webinar cover?",
     [["history"], ["foundational principles"], ["theory of change"], ["demand side", "supply side"]],
     ["review the history and foundational principles of high road partnerships"], None),
    ("factual", "For how many years have high road and low road strategies been distinguished?", [["25 years"]],
     ["for over 25 years"], None),
    ("list", "What do high road strategies prioritize?",
     [["cooperative labor relations"], ["productivity growth"], ["innovation"], ["higher wages"], ["social protection"]],
     ["High road strategies prioritize cooperative labor relations"], None),
    ("factual", "How many high road partnerships did the AFL-CIO's Working for America Institute highlight?", [["14"]],
     ["highlighted 14 high road partnerships back in 2000"], None),
    ("list", "Which industries did the high road partnerships highlighted in 2000 span?",
     [["healthcare"], ["hospitality"], ["transportation"], ["manufacturing"], ["construction"]],
     ["spanning various industries such as healthcare, hospitality, transportation, manufacturing, and construction"], None),
    ("factual", "When did the California Workforce Development Board launch the High Roads Initiative?", [["2017"]],
     ["In 2017, the California Workforce Development Board launched the High Roads Initiative"], None),
    ("factual", "What does the High Roads Initiative focus on?", [["equity"], ["climate resilience"], ["job quality"]],
     ["with a specific focus on equity, climate resilience, and job quality"], None),
    ("list", "What are the essential elements of a high road framework?",
     [["worker management leadership"], ["intentional partnership"], ["worker voice"], ["industry-led solutions"]],
     ["include worker management leadership, intentional partnership, worker voice, and industry-led solutions"], None),
    ("paraphrase", "Why does intentional partnership matter?",
     [["sustained attention"], ["trust-building", "trust building"], ["conflict resolution"]],
     ["intentional partnership is vital for sustained attention, trust-building, conflict resolution"], None),
    ("factual", "What does being industry-led require of a partnership?",
     [["job functions"], ["industry dynamics"], ["workplace context"], ["community impact"]],
     ["requiring a deep understanding of job functions, industry dynamics, workplace context, and community impact"], None),
    ("factual", "Who has the HRTP community of practice expanded to include?", [["individuals"], ["state agencies"]],
     ["but also individuals and state agencies who are developing high road partnerships"], None),
    ("paraphrase", "How do low road practices affect workers and communities?",
     [["lower living and working standards"], ["weaken communities"]],
     ["low road practices that lower living and working standards and weaken communities"], None),
    ("factual", "Who distinguishes between high road and low road strategies?",
     [["economists"], ["workforce development practitioners"], ["worker advocates"]],
     ["economists, workforce development practitioners, and worker advocates have been distinguishing"], None),
    ("paraphrase", "How can high road partnerships change markets for the better?",
     [["balancing power"], ["job quality"], ["sustainable communities"]],
     ["create positive change in markets by balancing power, improving job quality, and promoting sustainable communities"], None),
    # WED (004)
    ("list", WED_Q, [["industry driven"], ["worker centered"], ["community focused"], ["results measured"]],
     ["Industry Driven - Employers and Labor", "Results Measured - High Road Partnerships should enable"], None),
    ("factual", "What does the Results Measured principle say?", [["results-oriented", "measurable"]],
     ["through results-oriented, measurable actions outcomes"], None),
    ("paraphrase", "What does WED mean by community focused?",
     [["pipelines for community members", "quality jobs"], ["disadvantaged workers"]],
     ["be a means to create pipelines for community members into quality jobs"], None),
    ("factual", "What does a high road economy compete on?", [["innovation"], ["quality"], ["high skills"]],
     ["one that competes on the basis of innovation, quality, and high skills"], None),
    ("list", "Who does WED help unions build high road partnerships with?",
     [["signatory employers"], ["workforce development boards"], ["community colleges"], ["community-based organizations"]],
     ["build strong high road partnerships with signatory employers, local workforce development boards"], None),
    ("paraphrase", "What happens when industry helps create training standards?", [["industry-valued"]],
     ["results in \"industry-valued\" knowledge, skills and abilities that employers seek"], None),
    ("paraphrase", "How does worker voice help companies?", [["innovate"], ["solve problems"]],
     ["Well-practiced worker voice helps companies to innovate, solve problems and build success"], None),
    ("factual", "What tradition do unions have in their industries?", [["skills training"], ["strategic alliances"]],
     ["Unions have a long tradition of driving progress in their industries with cutting-edge skills training"], None),
    ("paraphrase", "Have high road partnerships helped formerly disadvantaged workers reach the middle class?",
     [["middle class jobs"]], ["providing pipelines into middle class jobs for formerly disadvantaged workers"], None),
    # synthesis across two documents
    ("synthesis", "What does worker-centered mean in the HRTP materials?",
     [["invaluable members", "industry expertise", "center of developing industry solutions"],
      ["worker's insights", "worker voice"]],
     ["Workers are invaluable members of the partnerships", "Respecting and incorporating worker's insights"], None),
    ("synthesis", "How do the materials describe being industry driven?",
     [["customized for the needs", "each industry"], ["first-hand knowledge"]],
     ["HRTPs lead problem solving customized for the needs and future demand of each industry",
      "Employers and Labor bring first-hand knowledge"], None),
    ("synthesis", "Which groups do high road partnerships bring together?",
     [["workers"], ["employers"], ["unions", "labor"]],
     ["Intermediary organizations convene workers, unions and other worker organizations, and employers",
      "fostering partnerships between industries, employers, labor, and workers"], None),
    ("synthesis", "How do high road partnerships serve disadvantaged workers and communities?",
     [["disadvantaged"]],
     ["especially those from the most disadvantaged communities", "pipelines into middle class jobs for formerly disadvantaged workers"], None),
    ("synthesis", "How are equity, job quality and climate resilience connected in the high road approach?",
     [["equity"], ["job quality"], ["climate resilience", "environmental"]],
     ["we cannot build economically resilient communities without addressing environmental concerns",
      "with a specific focus on equity, climate resilience, and job quality"], None),
    ("synthesis", "Why are high road partnerships good for employers?",
     [["competitive", "compete"], ["productivity", "innovation", "high-performing"]],
     ["Employers gain a high-performing and reliable workforce",
      "supporting high road employers to compete based upon innovation and quality"], None),
    # follow-ups
    ("followup", "Explain the second one.", [["worker centered"], ["worker's insights", "worker voice"]],
     ["Worker Centered - Respecting and incorporating worker's insights"], h(WED_Q, WED_A)),
    ("followup", "What about the last one?", [["results measured"], ["results-oriented", "measurable"]],
     ["Results Measured - High Road Partnerships should enable stakeholders"], h(WED_Q, WED_A)),
    ("followup", "What did it focus on?", [["equity"], ["climate resilience"], ["job quality"]],
     ["with a specific focus on equity, climate resilience, and job quality"],
     h("When did the California Workforce Development Board launch the High Roads Initiative?")),
    ("followup", "And what about communities?", [["resilient"]], ["Communities become environmentally and economically resilient"],
     h("What do employers gain from HRTPs?")),
    ("followup", "Tell me more about the first one.", [["industry driven"], ["first-hand knowledge"]],
     ["Industry Driven - Employers and Labor bring first-hand knowledge"], h(WED_Q)),
    ("followup", "What about unions?", [["industry standards"], ["higher wages"]],
     ["Worker organizations and unions are able to set industry standards"], h("What do workers gain from an HRTP?")),
]

REFUSE = [
    ("refuse", "How much funding does each HRTP receive?"),
    ("refuse", "What is the deadline to apply for an HRTP grant?"),
    ("refuse", "Who is the executive director of the California Workforce Development Board?"),
    ("refuse", "What minimum hourly wage must HRTP employers pay?"),
    ("refuse", "How many HRTPs are currently funded in California?"),
    ("refuse", "What is the phone number of the HRTP program office?"),
    ("refuse", "Who presented the HRTP 101 webinar?"),
    ("refuse", "What salary do HRTP trainers earn?"),
    ("refuse", "What percentage of HRTP graduates find jobs?"),
    ("refuse", "When is the next HRTP 101 webinar scheduled?"),
    ("refuse", "What is the budget of the High Roads Initiative?"),
    ("refuse", "What is the email address for WED?"),
    ("refuse", "What is the capital of France?"),
    ("refuse", "How do I bake sourdough bread?"),
    ("refuse", "Who won the 2022 World Cup?"),
    ("refuse", "What is the wage floor set by WED's principles?"),
]


def build() -> tuple[list[dict], list[dict]]:
    rows = []
    for i, (kind, q, facts, evidence, history) in enumerate(ANSWER):
        row = {"id": f"a{i + 1:02d}", "kind": kind, "question": q, "expect": "answer", "facts": facts, "evidence": evidence}
        if history:
            row["history"] = history
        rows.append(row)
    rows += [{"id": f"r{i + 1:02d}", "kind": k, "question": q, "expect": "refuse", "facts": [], "evidence": []}
             for i, (k, q) in enumerate(REFUSE)]
    seen: dict[str, int] = {}
    dev, test = [], []
    for row in rows:  # alternate within each kind so both parts cover every kind
        n = seen[row["kind"]] = seen.get(row["kind"], -1) + 1
        (dev if n % 2 == 0 else test).append(row)
    return dev, test


if __name__ == "__main__":
    here = Path(__file__).parent
    dev, test = build()
    for name, rows in (("questions_dev.jsonl", dev), ("questions_test.jsonl", test)):
        (here / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(name, len(rows))
