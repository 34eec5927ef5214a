import json, os, re, sys, glob
def norm(n): return re.sub(r"[-_.]+", "-", n).lower()
def modules_of(distinfo):
    mods=set()
    tl=os.path.join(distinfo,'top_level.txt')
    rec=os.path.join(distinfo,'RECORD')
    if os.path.exists(rec):
        for line in open(rec, encoding='utf8'):
            p=line.split(',')[0]
            if not p or p.startswith('..') or p.startswith('/'): continue
            first=p.split('/')[0]
            if first.endswith('.dist-info') or first.endswith('.data') or first=='__pycache__': continue
            if '/' in p: mods.add(first)
            elif p.endswith('.py'): mods.add(p[:-3])
            elif re.search(r'\.(so|pyd)$', p): mods.add(p.split('.')[0])
    elif os.path.exists(tl):
        mods.update(l.strip() for l in open(tl) if l.strip())
    return sorted(m for m in mods if re.fullmatch(r'[A-Za-z_]\w*', m))
out={}
for root in sys.argv[1:]:
    for d in glob.glob(os.path.join(root,'**','*.dist-info'), recursive=True):
        meta=os.path.join(d,'METADATA')
        name=None
        if os.path.exists(meta):
            for line in open(meta, encoding='utf8', errors='replace'):
                if line.startswith('Name:'): name=line.split(':',1)[1].strip(); break
        if not name: continue
        mods=modules_of(d)
        out.setdefault(norm(name), set()).update(mods)
print(json.dumps({k: sorted(v) for k,v in sorted(out.items())}, indent=0))
