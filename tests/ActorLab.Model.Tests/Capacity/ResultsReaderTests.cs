using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Tests.Capacity;

public class ResultsReaderTests
{
    [Fact]
    public void Reference_run_names_are_parsed()
    {
        var r = ResultsReader.ParseRunName("mup_n10000_p1166688_omin1_omax2_wd0.1_l4_lr0.001_beta10.99_sf_r17", "/x");
        Assert.Equal(10000, r.NProfiles);
        Assert.Equal(1166688, r.NParams);
        Assert.Equal(1, r.MinOrder);
        Assert.Equal(2, r.MaxOrder);
        Assert.Equal(0.1, r.WeightDecay);
        Assert.Equal(4, r.Layers);
        Assert.Equal(17, r.Relations);
        Assert.False(r.FromConfig);

        // No _r: the reference's default dataset has 4 relations. Old names have no mup_ prefix.
        var old = ResultsReader.ParseRunName("n25000_p890320_omin2_omax2_wd0.01_l8_lr0.001_beta10.9_adamw_hr0.2_curr_cot", "/y");
        Assert.Equal(4, old.Relations);
        Assert.Equal(25000, old.NProfiles);
        Assert.Equal(2, old.MinOrder);
        Assert.Equal(0.01, old.WeightDecay);
        Assert.Equal(8, old.Layers);
    }

    [Theory]
    [InlineData("my_run")]
    [InlineData("mup_n10_p5_omin1_omax2_wd0.1_l4_lr0.001_beta10.99_sgd")]
    [InlineData("mup_n10_p5_omin1_omax2_wd0.1_l4_lr0.001_beta10.99_sf_r18")]
    public void Unparsable_names_name_the_run(string name)
    {
        var e = Assert.Throws<UserInputException>(() => ResultsReader.ParseRunName(name, "/results/" + name));
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Reference_csv_with_index_column_and_other_order_is_read()
    {
        var dir = CapacityTestData.TempDir();
        var path = Path.Combine(dir, "eval_results.csv");
        File.WriteAllText(path,
            ",mode,global_step,loss,parameter_l2,extra\n" +
            "0,train_onehop,100,1.5,0.02,x\n" +
            "1,train_twohop,100,2.5,0.02,x\n" +
            "2,0.5,100,9,0.02,x\n" +              // a numeric mode: dropped with a warning
            "3,eval_relations,100,3.25,0.02,x\n" +
            "4,train_onehop,200,nan,0.03,x\n");  // non-finite loss: dropped with a warning
        var warnings = new List<string>();
        var rows = ResultsReader.ReadEvalCsv(path, 4, subjectwise: false, warnings);
        Assert.Equal(3, rows.Count);
        Assert.Equal(new EvalRow(EvalMode.TrainOnehop, 100, 1.5, 0.02, -1), rows[0]);
        Assert.Equal(new EvalRow(EvalMode.EvalRelations, 100, 3.25, 0.02, -1), rows[2]);
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.Contains("unknown mode '0.5'"));
        Assert.Contains(warnings, w => w.Contains("not finite"));
    }

    [Fact]
    public void Old_csv_without_mode_alternates_one_and_two_hop()
    {
        var dir = CapacityTestData.TempDir();
        var path = Path.Combine(dir, "eval_results.csv");
        File.WriteAllText(path, "loss,global_step\n1.0,100\n2.0,100\n0.5,200\n1.5,200\n");
        var rows = ResultsReader.ReadEvalCsv(path, 4, false, []);
        Assert.Equal([EvalMode.TrainOnehop, EvalMode.TrainTwohop, EvalMode.TrainOnehop, EvalMode.TrainTwohop], rows.Select(r => r.Mode));
        Assert.All(rows, r => Assert.True(double.IsNaN(r.ParameterL2)));
    }

    [Theory]
    [InlineData("mode,global_step\ntrain_onehop,100\n", "lacks the column 'loss'")]
    [InlineData("loss,global_step,mode\nabc,100,train_onehop\n", ":2: loss 'abc' is not a number")]
    [InlineData("loss,global_step,mode\n1.0,1.5,train_onehop\n", ":2: global_step '1.5'")]
    [InlineData("loss,global_step,mode\n1.0,100\n", ":2: 2 fields, the header has 3")]
    [InlineData("", "is empty")]
    [InlineData("loss,global_step,mode\n", "has no usable rows")]
    public void Malformed_csv_gets_one_clear_message(string text, string expected)
    {
        var dir = CapacityTestData.TempDir();
        var path = Path.Combine(dir, "eval_results.csv");
        File.WriteAllText(path, text);
        var e = Assert.Throws<UserInputException>(() => ResultsReader.ReadEvalCsv(path, 4, false, []));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Subject_wise_csv_needs_a_subject_column_and_maps_names()
    {
        var dir = CapacityTestData.TempDir();
        var path = Path.Combine(dir, "eval_results_full.csv");
        File.WriteAllText(path, "loss,global_step,mode,parameter_l2,subject\n1,100,train_onehop,0.1,child\n2,100,train_onehop,0.1,hero\n");
        var warnings = new List<string>();
        var rows = ResultsReader.ReadEvalCsv(path, 2, subjectwise: true, warnings);
        Assert.Single(rows);
        Assert.Equal(5, rows[0].Subject); // child = relation 1 -> subject 4 + 1
        Assert.Contains(warnings, w => w.Contains("'hero'"));

        File.WriteAllText(path, "loss,global_step,mode\n1,100,train_onehop\n");
        Assert.Contains("'subject'", Assert.Throws<UserInputException>(() => ResultsReader.ReadEvalCsv(path, 2, true, [])).Message);
    }
}
