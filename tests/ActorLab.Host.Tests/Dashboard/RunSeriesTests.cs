using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>The run page's loss series, read by RunTable (the reader of `actorlab runs`) from a run folder's files.</summary>
public class RunSeriesTests
{
    [Fact]
    public void Dashboard_series_merge_attempts_and_keep_eval_modes_apart()
    {
        using var dir = new TempDir();
        const string head = "epoch,kind,step,loss,lr,tokens_per_s,time\n";
        // attempt 1 reached step 3; attempt 2 resumed from step 2 and retrained it; a NaN loss is no point
        File.WriteAllText(Path.Combine(dir.Path, "progress.e1.csv"), head + "1,start,0,NaN,NaN,NaN,t\n1,step,1,5.0,0.1,1,t\n1,step,2,4.0,0.1,1,t\n1,step,3,3.5,0.1,1,t\n");
        File.WriteAllText(Path.Combine(dir.Path, "progress.e2.csv"), head + "2,start,2,NaN,NaN,NaN,t\n2,step,3,3.0,0.1,1,t\n2,step,4,NaN,0.1,1,t\n2,step,5,2.0,0.1,1,t\n");
        Assert.Equal([(1L, 5.0), (2L, 4.0), (3L, 3.0), (5L, 2.0)], RunTable.TrainLossSeries(dir.Path));

        File.WriteAllText(Path.Combine(dir.Path, "eval_results.e2.csv"),
            "loss,global_step,mode,parameter_l2\n4.5,500,train_onehop,0\n0.5,500,train_twohop,0\n2.5,1000,train_onehop,0\n0.25,1000,train_twohop,0\n");
        var eval = RunTable.EvalSeries(dir.Path, relations: 2);
        Assert.Equal([(500L, 4.5), (1000L, 2.5)], eval[EvalMode.TrainOnehop]);
        Assert.Equal([(500L, 0.5), (1000L, 0.25)], eval[EvalMode.TrainTwohop]);
        Assert.Equal(2, eval.Count);
    }
}
