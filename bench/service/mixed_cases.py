#!/usr/bin/env python3
"""Writes case bodies, one JSON per line, for `oha -Z`: requests with different facts (acts,
papers, agencies, requesters, custody), so that cases do not all share one engine answer as
bench/service/case.json's do. Deterministic: the same file every time."""
import itertools, json, sys

acts = ["transfer_custody", "detain", "grant_access_to_person", "ask_status", "assist_operation"]
papers = ["immigration_detainer", "civil_immigration_warrant", "judicial_warrant",
          "administrative_subpoena", "court_order", "none"]
agencies = ["corrections", "law_enforcement", "library", "municipal_id"]
requesters = ["immigration_agency", "federal_law_enforcement"]
custody = [True, False]
lines = []
for n, (act, paper, agency, requester, held) in enumerate(
        itertools.product(acts, papers, agencies, requesters, custody)):
    request = {
        "jurisdiction": "chicago",
        "act": act,
        "agency": {"kind": agency},
        "requester": {"kind": requester},
        "documents": [{"kind": paper}] if paper != "none" else [],
        "subject": {"in_custody": held},
    }
    lines.append(json.dumps({
        "channel": ["in_person", "phone", "email", "mail"][n % 4],
        "requester": {"name": f"Bench Requester {n}", "organisation": "ICE ERO Chicago",
                      "contact": "+1 312 555 0100"},
        "subject_name": f"Bench Subject {n}",
        "request": request,
        "notes": "benchmark case",
    }, separators=(",", ":")))
sys.stdout.write("\n".join(lines) + "\n")
