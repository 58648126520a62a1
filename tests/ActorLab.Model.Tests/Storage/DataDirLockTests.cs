using ActorLab.Model.Common;
using ActorLab.Model.Storage;

namespace ActorLab.Model.Tests.Storage;

public class DataDirLockTests
{
    [Fact]
    public void A_held_data_dir_is_refused_naming_its_owner_and_free_again_once_released()
    {
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-lock-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using (var first = DataDirLock.Acquire(dir, "actorlab node --data-dir x"))
            {
                var owner = DataDirLock.ReadOwner(dir);
                Assert.NotNull(owner);
                Assert.Equal(Environment.ProcessId, owner!.Pid);
                var e = Assert.Throws<UserInputException>(() => DataDirLock.Acquire(dir, "actorlab sweep run y.conf"));
                Assert.Contains($"in use by pid {Environment.ProcessId} on {Environment.MachineName}", e.Message);
                Assert.Contains("actorlab node --data-dir x", e.Message);
            }
            // released: the next owner takes it and says so
            using var second = DataDirLock.Acquire(dir, "actorlab sweep run y.conf");
            Assert.Equal("actorlab sweep run y.conf", DataDirLock.ReadOwner(dir)!.Command);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
