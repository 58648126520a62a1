using System.Diagnostics;
using ActorLab.Model.Common;

namespace ActorLab.Model.Tests.Common;

public class TempFilesTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("actorlab-temps-").FullName;
    public void Dispose() => Directory.Delete(root, true);

    /// <summary>
    /// Temps of a dead writer (a checkpoint folder, a table) are removed; a live writer's (this process) and real
    /// files are kept; on shared storage only old temps count as abandoned, whatever pid they name.
    /// </summary>
    [Fact]
    public void Abandoned_temps_are_removed_and_live_ones_and_real_files_kept()
    {
        var dead = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        dead.WaitForExit();
        var ckpts = Directory.CreateDirectory(Path.Combine(root, "runs", "s", "r", "checkpoints")).FullName;
        string Temp(string target, int pid) =>
            Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{pid}.{Guid.NewGuid():N}.tmp");

        var deadCkpt = Directory.CreateDirectory(Temp(Path.Combine(ckpts, "step_100.e3"), dead.Id)).FullName;
        File.WriteAllText(Path.Combine(deadCkpt, "model.safetensors"), "half");
        var deadTable = Temp(Path.Combine(root, "capacity_final_x.csv"), dead.Id);
        File.WriteAllText(deadTable, "half");
        var live = TempFiles.Beside(Path.Combine(root, "progress.csv"));
        File.WriteAllText(live, "being written");
        var real = Path.Combine(ckpts, "step_50.e3");
        Directory.CreateDirectory(real);
        Assert.True(TempFiles.IsTemp(Path.GetFileName(live)));

        // shared storage: nothing is old enough yet
        Assert.Empty(TempFiles.CleanUnder(root, sharedWithOtherMachines: true));
        Directory.SetLastWriteTimeUtc(deadCkpt, DateTime.UtcNow - TempFiles.SharedMaxAge - TimeSpan.FromMinutes(1));
        Assert.Equal([deadCkpt], TempFiles.CleanUnder(root, sharedWithOtherMachines: true));

        var removed = TempFiles.CleanUnder(root, sharedWithOtherMachines: false);
        Assert.Equal([deadTable], removed);
        Assert.True(File.Exists(live));
        Assert.True(Directory.Exists(real));
    }
}
