using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ActorLab.Actors.DataPlane;

namespace ActorLab.Actors.Tests.DataPlane;

public class RingOutOfStepTests
{
    /// <summary>
    /// Ring rank 1 is played by hand (the real handshake, then frames written directly) so that it can send a frame
    /// of the wrong step: the real member must fail with "out of step", not add it in.
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task A_frame_of_another_step_breaks_the_ring_instead_of_being_summed()
    {
        using var real = new DataPlaneListener(IPAddress.Loopback, 0);
        var fake = new TcpListener(IPAddress.Loopback, 0);
        fake.Start();
        try
        {
            var spec = new RingSpec("run-x", 3, [new RingMember("real", "127.0.0.1", real.Port), new RingMember("fake", "127.0.0.1", ((IPEndPoint)fake.LocalEndpoint).Port)], RingSpec.NewSecret());
            var join = real.JoinAsync(spec, 0, TimeSpan.FromSeconds(10), CancellationToken.None);

            // the real member's connector: greet it and accept
            using var inbound = await fake.AcceptTcpClientAsync();
            var fromReal = inbound.GetStream();
            await fromReal.WriteAsync(Handshake.ServerHello(new byte[Handshake.NonceBytes]));
            await Handshake.ReadClientHello(fromReal, CancellationToken.None);
            await fromReal.WriteAsync(Handshake.Reply(Handshake.Answer.Accepted));

            // our connector to the real member, with the lease's secret
            using var outbound = new TcpClient();
            await outbound.ConnectAsync(IPAddress.Loopback, real.Port);
            var toReal = outbound.GetStream();
            var nonce = await Handshake.ReadServerHello(toReal, CancellationToken.None);
            await toReal.WriteAsync(Handshake.ClientHello(spec.RunId, spec.Epoch, 1, Handshake.Mac(spec.Secret, spec.RunId, spec.Epoch, 1, nonce)));
            Assert.Equal(Handshake.Answer.Accepted, (await Handshake.ReadReply(toReal, CancellationToken.None)).Answer);
            using var member = await join;

            // a frame of all-reduce 1 but step 1 (all-gather) where step 0 is due; 2 values, so chunk 0 holds 1
            var frame = new byte[24 + 4];
            BinaryPrimitives.WriteUInt32LittleEndian(frame, 1);
            BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(4), 1);
            BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(12), 4);
            BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(16), 2);
            await toReal.WriteAsync(frame);
            var buffer = new[] { 1f, 2f };
            var e = Assert.Throws<RingAbortedException>(() => member.AllReduceSum(buffer, 2, default, TimeSpan.FromSeconds(5)));
            Assert.Contains("ring rank 1 (node fake): it is out of step", e.Message);
            Assert.Equal(2f, buffer[1]); // nothing of the bad frame was added
            // and the real member closed its side toward us (after its own step-0 frame): the stream ends within 5 s
            await ReadToEnd(fromReal);
        }
        finally
        {
            fake.Stop();
        }
    }

    static async Task ReadToEnd(NetworkStream s)
    {
        var buffer = new byte[64];
        while (await s.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5)) > 0) { }
    }
}
