from __future__ import annotations

from failcast.live.hub import InProcessHub, org_topic


async def test_subscribers_get_only_their_topic_in_order() -> None:
    hub = InProcessHub()
    async with hub.subscribe(org_topic(1)) as one, hub.subscribe(org_topic(2)) as two:
        await hub.publish(org_topic(1), {"n": 1})
        await hub.publish(org_topic(1), {"n": 2})
        await hub.publish(org_topic(2), {"n": 3})
        assert [await one.get(), await one.get()] == [{"n": 1}, {"n": 2}]
        assert await two.get() == {"n": 3}
        assert one.queue.empty() and two.queue.empty()
    assert hub.subscriber_count(org_topic(1)) == 0


async def test_a_slow_subscriber_drops_its_oldest_messages() -> None:
    hub = InProcessHub(maxsize=3)
    async with hub.subscribe("t") as sub:
        for n in range(5):
            await hub.publish("t", {"n": n})
        assert sub.dropped == 2
        assert [(await sub.get())["n"] for _ in range(3)] == [2, 3, 4]
