# Sourced by bench-ops.sh and cpu-per-request.sh: the requests they time, one per line as
# name|servers that serve it|wsload --request template|--done marker.
KINDS=(
    'ping|router|{"type":"ping","id":"{n}"}|"pong"'
    'search-miss|router seed|{"type":"memory_search","id":"{n}","data":{"query":"zzzz","limit":1}}|_complete"'
    'search-10-hits|router seed|{"type":"memory_search","id":"{n}","data":{"query":"project","limit":10}}|_complete"'
    'compress-small|router|{"type":"context_compress","id":"{n}","data":{"budgetTokens":40,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"The Atlas project moved its deadline to Friday because the security review is blocked."},{"role":"assistant","content":"Noted: Atlas deadline is Friday, blocked on the security review."},{"role":"user","content":"Also remind me that Lukas prefers dark roast coffee and lives in Sao Paulo."}]}}|_complete"'
)
