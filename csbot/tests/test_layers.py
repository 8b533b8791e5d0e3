"""The tuned in-memory channel layer behaves like Channels' own."""

import asyncio

import pytest

from csbot.layers import InMemoryChannelLayer


async def test_group_send_reaches_every_member_and_only_members():
    layer = InMemoryChannelLayer()
    a, b, outsider = [await layer.new_channel() for _ in range(3)]
    for channel in (a, b):
        await layer.group_add("conv.x", channel)
    await layer.group_send("conv.x", {"type": "chat.frame", "frame": {"seq": 1}})
    assert await layer.receive(a) == {"type": "chat.frame", "frame": {"seq": 1}}
    assert await layer.receive(b) == {"type": "chat.frame", "frame": {"seq": 1}}
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await layer.receive(outsider)


async def test_a_full_channel_misses_the_frame_without_failing_the_group():
    layer = InMemoryChannelLayer(capacity=1)
    full, fine = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("conv.y", full)
    await layer.send(full, {"type": "chat.frame", "frame": {"seq": 1}})
    await layer.group_add("conv.y", fine)
    await layer.group_send("conv.y", {"type": "chat.frame", "frame": {"seq": 2}})
    assert (await layer.receive(full))["frame"] == {"seq": 1}
    assert (await layer.receive(fine))["frame"] == {"seq": 2}


async def test_expired_messages_and_their_channels_are_still_swept():
    layer = InMemoryChannelLayer(expiry=0)
    layer.sweep_interval_s = 0.0
    stale, other = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("conv.z", stale)
    await layer.send(stale, {"type": "chat.frame", "frame": {"seq": 1}})
    await asyncio.sleep(0.01)
    await layer.group_send("conv.z", {"type": "chat.frame", "frame": {"seq": 2}})
    # The expired message dropped the channel from its groups, as in the stock layer.
    assert stale not in layer.groups.get("conv.z", {})
    assert other not in layer.channels


async def test_each_receiver_gets_its_own_copy_of_the_message():
    layer = InMemoryChannelLayer()
    a, b = await layer.new_channel(), await layer.new_channel()
    for channel in (a, b):
        await layer.group_add("conv.copy", channel)
    sent = {"type": "chat.frame", "frame": {"seq": 3, "suggestions": ["退货", "换货"]}}
    await layer.group_send("conv.copy", sent)
    got_a = await layer.receive(a)
    got_a["frame"]["suggestions"].append("mutated")
    got_b = await layer.receive(b)
    assert got_b == {"type": "chat.frame", "frame": {"seq": 3, "suggestions": ["退货", "换货"]}}
    assert sent["frame"]["suggestions"] == ["退货", "换货"]


async def test_a_bad_channel_name_is_refused_and_a_drained_channel_is_forgotten():
    layer = InMemoryChannelLayer()
    with pytest.raises(TypeError):
        await layer.send("no spaces allowed", {"type": "chat.frame"})
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "chat.frame", "frame": {"seq": 1}})
    assert await layer.receive(channel) == {"type": "chat.frame", "frame": {"seq": 1}}
    assert channel not in layer.channels
