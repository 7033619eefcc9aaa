import asyncio
from bot.generator import AnthropicGenerator, Material
from bot.models import MaterialKind
from bot.prompts import load_prompts
from tests.support.standin import StandIn
from tests.support.pdfs import make_pdf

PAGES = ["Photosynthesis turns light into sugar. Plants do it in their leaves.",
 "Respiration burns sugar for energy. Every living cell does it.",
 "Decomposers return nutrients to the soil. Fungi and bacteria do this work.",
 "Food webs link producers and consumers. Energy flows up the chain."]
async def main():
    s=StandIn(); await s.start()
    st=s.settings()
    g=AnthropicGenerator(st, load_prompts(st.prompts_dir))
    pdf=make_pdf(PAGES)
    m=Material(MaterialKind.PDF,"lecture-3.pdf","application/pdf",pdf)
    print(await g.count_tokens("", "en", m))
    r=await g.generate_map("", "en", material=m, on_progress=lambda sk: None)
    print(r.value.title, r.read)
    for c in r.value.concepts: print(c.title, '|', c.summary, [ (x.pages, x.quote[:30]) for x in c.sources])
    print(r.value.sources)
    fid=await g.upload(m); print(fid)
    from bot.generator import ExpandRequest
    from bot.models import ConceptDraft
    m2=Material(MaterialKind.PDF,"lecture-3.pdf","application/pdf",pdf,file_id=fid)
    e=await g.expand(ExpandRequest(topic=r.value.title,language="en",path=[r.value.concepts[1]],siblings=[c.title for c in r.value.concepts]), material=m2)
    for c in e.value.concepts: print(' ', c.title, [x.pages for x in c.sources])
    from bot.generator import AskRequest
    a=await g.ask(AskRequest(topic="x",language="en",path=[],title="t",summary="s.",detail="d.",subconcepts=[],question="what is it?"), material=m2)
    print(a.value[:80], a.sources)
    await g.delete_file(fid); print(s.materials.deleted)
    # a page
    s.materials.pages["https://example.org/article"]=("An Article", "Tides rise twice a day on most coasts.\n\nThe Moon pulls the oceans into two bulges.\n\nSpring tides come at new and full moon.\n\nBays can amplify the tidal range a lot.")
    p=Material(MaterialKind.PAGE,"https://example.org/article")
    r=await g.generate_map("", "en", material=p)
    print(r.value.title, r.read.title, len(r.read.text or ''), [ [ (x.url, x.quote[:20]) for x in c.sources] for c in r.value.concepts][:2])
    try:
        await g.generate_map("", "en", material=Material(MaterialKind.PAGE,"https://nowhere.example/x"))
    except Exception as e: print(type(e).__name__, e)
    print([ (q.body.get('tools'), ) for q in s.requests[-2:]])
    await g.aclose(); await s.stop()
asyncio.run(main())
