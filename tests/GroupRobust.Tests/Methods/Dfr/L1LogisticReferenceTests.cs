using System.Text.Json;
using GroupRobust.Methods;
using TorchSharp;
using GroupRobust.Tests.TestSupport;
using Xunit.Abstractions;
using static GroupRobust.Tests.TestSupport.ReferenceFixture;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Methods;

/// <summary>
/// DFR's and AFR's last-layer solver against scikit-learn's liblinear (eng/make-reference-fixtures.py, fixture in
/// Fixtures/Reference/LastLayer): the same L1-regularised logistic problems, two classes and three (one-vs-rest), at a C
/// that keeps most weights and at one that zeroes most; every weight and intercept within 1e-5 and the same zeros.
/// </summary>
public class L1LogisticReferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void The_solver_finds_liblinears_weights_intercepts_and_zeros()
    {
        var root = ReferenceFixture.Load("LastLayer/l1-logistic");
        using var scope = NewDisposeScope();
        var x = Matrix64(root.GetProperty("features"));
        double worst = 0;
        foreach (var problem in root.GetProperty("problems").EnumerateArray())
        {
            int classes = problem.GetProperty("classes").GetInt32();
            double c = problem.GetProperty("c").GetDouble();
            var y = torch.tensor(Longs(problem.GetProperty("labels")));
            var head = L1LogisticRegression.Fit(x, y, classes, c, new L1LogisticOptions { MaxIterations = 100_000, Tolerance = 1e-12 });
            var coef = Rows(problem.GetProperty("coef"));
            var intercept = Doubles(problem.GetProperty("intercept"));
            // scikit-learn's binary model is one row (class 1 against 0); the head's is row 1 - row 0
            for (int k = 0; k < coef.Length; k++)
            {
                int row = classes == 2 ? 1 : k;
                for (int j = 0; j < coef[k].Length; j++)
                {
                    double ours = head.Weight[row, j] - (classes == 2 ? head.Weight[0, j] : 0);
                    worst = Math.Max(worst, Check(coef[k][j], ours, $"{classes} classes, C = {c}: weight [{k}, {j}]"));
                    // liblinear's exact zeros are the L1 problem's: the solver must find the same support
                    Assert.True((coef[k][j] == 0) == (Math.Abs(ours) < 1e-6), $"{classes} classes, C = {c}: weight [{k}, {j}] is {ours:R}, liblinear's {coef[k][j]:R}");
                }
                double b = head.Bias[row] - (classes == 2 ? head.Bias[0] : 0);
                worst = Math.Max(worst, Check(intercept[k], b, $"{classes} classes, C = {c}: intercept [{k}]"));
            }
        }
        output.WriteLine($"L1 logistic regression against liblinear: max deviation {worst:E2} over 4 problems");
    }
}
