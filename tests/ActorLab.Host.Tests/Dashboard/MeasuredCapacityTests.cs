using ActorLab.Actors.Control;
using ActorLab.Host.Dashboard;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>The runs table's capacity columns: the newest capacity_final CSV of the sweep, re-read when it changes.</summary>
public class MeasuredCapacityTests
{
    [Fact]
    public void Dashboard_capacity_columns_follow_the_newest_final_table()
    {
        using var dir = new TempDir();
        var sweep = new SweepSummary("s", "running", 2, 0, 0, 0, 2, 0, 0, dir.Path, null);
        var measured = new MeasuredCapacity();
        Assert.Empty(measured.Of(sweep));
        var file = Path.Combine(dir.Path, "capacity_final_entropy_last.csv");
        // run-a trained 1+2 hops: its 2-hop row is its capacity; run-b trained 1 hop
        File.WriteAllText(file, "n_params,max_train_hops,hops,capacity,total_capacity,bits_per_param,fraction_of_entropy,run,converged\n" +
                                "1000,2,1,700,700,0.7,0.5,runs/s/run-a,true\n1000,2,2,200,200,0.2,0.5,runs/s/run-a,true\n1000,2,2.1,250,250,0.25,0.4,runs/s/run-a,true\n" +
                                "2000,1,1,500,500,0.25,0.3,run-b,false\n");
        var first = measured.Of(sweep);
        Assert.Equal((200.0, 0.2), first["run-a"]);
        Assert.Equal((500.0, 0.25), first["run-b"]);
        File.WriteAllText(file, "n_params,hops,capacity,total_capacity,bits_per_param,fraction_of_entropy,run,converged\n2000,1,800,800,0.4,0.3,run-b,true\n");
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(5));
        var second = measured.Of(sweep);
        Assert.False(second.ContainsKey("run-a"));
        Assert.Equal((800.0, 0.4), second["run-b"]);
    }
}
