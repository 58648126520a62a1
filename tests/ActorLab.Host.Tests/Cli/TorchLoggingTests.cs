using ActorLab.Host.Composition;

namespace ActorLab.Host.Tests.Cli;

public class TorchLoggingTests
{
    /// <summary>libtorch reads its level from the native environment: Quiet() must put it there, not only in .NET's copy.</summary>
    [Fact]
    public void Quiet_sets_the_level_libtorch_reads_unless_the_user_set_one()
    {
        var user = Environment.GetEnvironmentVariable(TorchLogging.Variable);
        TorchLogging.Quiet();
        Assert.Equal(string.IsNullOrEmpty(user) ? TorchLogging.Level : user, TorchLogging.Native());
    }
}
