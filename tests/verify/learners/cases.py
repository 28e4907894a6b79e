"""Catalogue of learners' buggy backprop scripts collected from public posts.

Each entry names a pair of files in this directory, NN_name_buggy.py and NN_name_fixed.py.
The scripts are reconstructions of the posted code in the author's own names and layout (data made
inline or seeded, file I/O and plotting removed); "notes" says what was changed.

bug_lines are 1-based line numbers in the *_buggy.py file. buggy_params and all_params are
expressions in the script's own names.
"""

CASES = [
    {
        "name": "01_xor_gate_small_init",
        "source": "https://huggingface.co/datasets/nvidia/Nemotron-CC-Math-v1",
        "accepted_answer": (
            "The weights are too small at the beginning (drop the * 0.01) and the biases should be randomly "
            "initialised too; also use the learning_rate variable (set to 0.1) instead of the hard-coded 0.03."
        ),
        "bug_class": "init_small_or_symmetric",
        "buggy_params": ["w1", "w2"],
        "bug_lines": [27, 29],
        "all_params": ["w1", "b1", "w2", "b2"],
        "lr": 0.03,
        "notes": (
            "Stack Overflow question 'Neural Network XOR Gate Classification' (loss stays near 0.6); its "
            "original URL is not in the stored copy, which is a rewrite of the thread in the Nemotron-CC-Math "
            "dataset, so the source field points at that dataset. Second bug from the same answer: the update "
            "lines 47-50 use a hard-coded 0.03 although learning_rate = 0.1 is defined (hardcoded_lr); lr is the "
            "rate actually used. Biases start at zero (lines 28, 30) and the answer makes them random as well. "
            "1,000,000 epochs printing J every epoch, as posted: the full buggy run takes 65-85 s. "
            "np.random.seed(1) added."
        ),
    },
    {
        "name": "02_bot_academy_update_order",
        "source": "https://github.com/Bot-Academy/NeuralNetworkFromScratch/pull/3",
        "accepted_answer": (
            "w_h_o is updated before delta_h is computed from it, so the input-layer update uses the new weights; "
            "compute delta_h first and update afterwards. The output delta also lacks the sigmoid derivative "
            "o * (1 - o)."
        ),
        "bug_class": "updated_before_used",
        "buggy_params": ["w_i_h", "b_i_h"],
        "bug_lines": [47, 50],
        "all_params": ["w_i_h", "w_h_o", "b_i_h", "b_h_o"],
        "lr": 0.01,
        "notes": (
            "Pull request against the repository's main script (the code of the YouTube video). Secondary bug "
            "on line 46: delta_o = o - l has no o * (1 - o) although the printed cost e is squared error "
            "(derivative_missing, affects all four parameters); the PR fixes both. MNIST (mnist.npz) replaced "
            "by 1000 seeded 784-pixel prototype images; matplotlib/input() loop at the end removed; "
            "np.random.seed(0) added. Prints accuracy per epoch only, as the author did. Per-row loop, column "
            "vectors via img.shape += (1,)."
        ),
    },
    {
        "name": "03_louisjc_mnist_update_order",
        "source": "https://github.com/louisjc/mnist-neural-network/issues/1",
        "accepted_answer": (
            "Two bugs in backpropagate: the output layer is updated before the hidden deltas are computed from "
            "it, and np.delete removes column 200 instead of the bias column 300; compute hidden_deltas first "
            "(deleting column 300), then update both layers. The author confirmed and merged the fix."
        ),
        "bug_class": "updated_before_used",
        "buggy_params": ["self.layers[0]"],
        "bug_lines": [89, 93],
        "all_params": ["self.layers[0]", "self.layers[-1]"],
        "lr": 0.1,
        "notes": (
            "Class, one example at a time, np.outer gradients, bias folded into each weight matrix as its last "
            "column (weights (n_out, n_in + 1)). Second bug on line 93: np.delete(self.layers[-1], 200, 1) drops "
            "hidden unit 200's weights and keeps the bias column in the backpropagated sum (other: wrong slice); "
            "it also hits only self.layers[0]. Learning coefficient c = 1/(iteration + 10) decays, 0.1 at the "
            "start. Training runs 'until 10 iterations without improvement'. MNIST pickles replaced by seeded "
            "prototype digits (600 train, 1000 test); scipy.special.expit replaced by a NumPy expit; the "
            "save-to-file (sauv/load) and display helpers removed; np.random.seed(0) added."
        ),
    },
    {
        "name": "04_jiexunsee_output_delta",
        "source": "https://github.com/jiexunsee/Neural-Network-with-Python/issues/1",
        "accepted_answer": (
            "del4 is only the error; it must be multiplied by the sigmoid derivative of the output "
            "(err4 = y - output; del4 = err4 * sigmoid_derivative(output)) before being propagated. The author "
            "agreed."
        ),
        "bug_class": "derivative_missing",
        "buggy_params": ["self.synaptic_weights1", "self.synaptic_weights2", "self.synaptic_weights3"],
        "bug_lines": [32],
        "all_params": ["self.synaptic_weights1", "self.synaptic_weights2", "self.synaptic_weights3"],
        "lr": 1.0,
        "notes": (
            "No loss is written down and there is no learning rate (weights += adjustment). Judged against the "
            "squared error the error term implies, as in the issue. Without the derivative the step is exactly "
            "the cross-entropy gradient, so the buggy script still fits the data: the symptom is only a "
            "different result. Deltas kept in the author's transposed (n_out, samples) layout "
            "(del3 = dot(W3, del4.T) * ...). Python 2 prints/xrange converted to Python 3."
        ),
    },
    {
        "name": "05_grokking_outer_prod",
        "source": "https://github.com/iamtrask/Grokking-Deep-Learning/issues/23",
        "accepted_answer": (
            "weight_deltas = outer_prod(input, delta) is transposed: weights are indexed [output][input], so it "
            "must be outer_prod(delta, input) (fixed by the merged PR #22)."
        ),
        "bug_class": "transposed",
        "buggy_params": ["weights"],
        "bug_lines": [71],
        "all_params": ["weights"],
        "lr": 0.01,
        "notes": (
            "Chapter 5 of Grokking Deep Learning, multiple inputs and outputs. Weights are a 3x3 Python list of "
            "lists, so the transposed gradient has the right shape and nothing crashes. The book cell does one "
            "step; it is wrapped here in the book's own 'for iter in range(...)' pattern (20 steps) with the "
            "error printed, so that the loss can be watched."
        ),
    },
    {
        "name": "06_grokking_batch_loop",
        "source": "https://github.com/iamtrask/Grokking-Deep-Learning/issues/31",
        "accepted_answer": (
            "In the chapter 8 mini-batch code the delta computation and the weight updates sit inside the "
            "per-example 'for k in range(batch_size)' loop, so the weights change batch_size times per batch; "
            "move them out of the loop (PR #54 also drops the /batch_size)."
        ),
        "bug_class": "changed_during_accumulation",
        "buggy_params": ["weights_0_1", "weights_1_2"],
        "bug_lines": [50, 51],
        "all_params": ["weights_0_1", "weights_1_2"],
        "lr": 0.001,
        "notes": (
            "The deltas are computed for the whole batch (lines 46-48) but the parameters are updated inside the "
            "k loop (line 43) that only counts correct answers, 100 times per batch. Fixed version follows "
            "PR #54 (lines moved out, /batch_size removed). MNIST (1000 images via Keras) replaced by seeded "
            "sparse prototype images; import sys added; print() at the end. 300 iterations as in the book: the "
            "full buggy run takes minutes (about 0.5 s per iteration on an idle machine, so about 3 min; "
            "about 15 min when the machine was shared)."
        ),
    },
    {
        "name": "07_hidden_delta_output_error",
        "source": (
            "https://whosebug.com/question/2948401/"
            "Backpropagation-Why-doesn-t-error-approach-zero-when-it-is-multiplied-by-deriv-of-sigmoid"
        ),
        "accepted_answer": (
            "The hidden delta is computed from the output error instead of the back-propagated error: it should "
            "be delta_hidden = hidden_error * sigmoid(hidden, True), with hidden_error = np.dot(w_1.T, delta)."
        ),
        "bug_class": "no_backprop_through_weights",
        "buggy_params": ["w_0"],
        "bug_lines": [43, 44],
        "all_params": ["w_0", "w_1"],
        "lr": 0.1,
        "notes": (
            "Stack Overflow question mirrored (translated) on whosebug.com; the answers are not in the stored "
            "copy. The post itself ends with 'I feel it should be delta_hidden = hidden_error * sigmoid(hidden, "
            "True)'; the fixed version also back-propagates delta rather than error into hidden_error, which the "
            "chain rule needs. The posted code updates w_0 with record.T, an undefined name; it is inputs.T "
            "here. Functions updating the weights in place, one row at a time, no biases, column vectors, "
            "w (n_out, n_in). Buggy symptom as posted: the error stays near 0.5."
        ),
    },
    {
        "name": "08_predicting_contrary",
        "source": "https://datascience.stackexchange.com/questions/25394/why-can-it-be-that-my-neural-network-is-predicting-the-contrary",
        "accepted_answer": (
            "dw uses the layer's own output: dw = 1./m * dz.dot(activations[d].T) must be "
            "dz.dot(activations[d-1].T), the input to the layer."
        ),
        "bug_class": "other",
        "buggy_params": ["self.weights[1]"],
        "bug_lines": [46],
        "all_params": ["self.weights[1]", "self.biases[1]"],
        "lr": 0.3,
        "notes": (
            "other = weight gradient built from the wrong layer's activation (the layer's output instead of its "
            "input). Only gradients() is in the post (the rest was on GitHub); __init__, forward, cost and train "
            "are filled in around it in the same style (weights/biases lists with an empty slot 0, columns are "
            "samples). m = w.shape[1] as posted. Data as posted (X = -3, -2, 3, 2; Y = 0, 0, 1, 1), one sigmoid "
            "unit. Seed and alpha chosen so that the buggy run shows the posted symptom: the cost rises from 0.7 "
            "to about 23 and the predictions come out reversed."
        ),
    },
    {
        "name": "09_student_admissions_sign",
        "source": "https://github.com/udacity/deep-learning-v2-pytorch/issues/24",
        "accepted_answer": (
            "The notebook asks for the error term -(y - y_hat) * sigma'(x), but train_nn then does "
            "del_w += error_term * x and weights += learnrate * del_w / n_records, so following the instructions "
            "climbs the loss; drop the minus sign (the maintainer changed the instructions to (y - y_hat))."
        ),
        "bug_class": "sign",
        "buggy_params": ["weights"],
        "bug_lines": [28],
        "all_params": ["weights"],
        "lr": 0.5,
        "notes": (
            "Udacity StudentAdmissions notebook with the TODO filled in as instructed (sigma' taken from output). "
            "The update itself (line 64) adds; the sign is wrong in the error term. Single sigmoid unit, no bias, "
            "per-record accumulation into del_w and one averaged update per epoch. binary.csv replaced by 400 "
            "seeded rows with the same columns (gre/800, gpa/4, rank one-hot); pandas replaced by arrays "
            "(features.values -> features). Buggy symptom as in the notebook: 'WARNING - Loss Increasing'."
        ),
    },
    {
        "name": "10_yizt_sigmoid_backward",
        "source": "https://github.com/yizt/numpy_neural_network/issues/3",
        "accepted_answer": (
            "sigmoid_backward(next_dz) returns sigmoid_forward(1 - sigmoid_forward(next_dz)), i.e. it applies "
            "sigmoid to the incoming gradient; it must be sigmoid(z) * (1 - sigmoid(z)) * next_dz with the "
            "layer's input z (maintainer fixed it)."
        ),
        "bug_class": "derivative_on_error",
        "buggy_params": ['self.weights["W1"]', 'self.weights["b1"]'],
        "bug_lines": [37, 76],
        "all_params": ['self.weights["W1"]', 'self.weights["b1"]', 'self.weights["W2"]', 'self.weights["b2"]'],
        "lr": 0.5,
        "notes": (
            "The issue is about the library function; the script combines the repository's own fc_forward / "
            "fc_backward / sigmoid_forward / sigmoid_backward / mean_squared_loss with a two-layer net in the "
            "style of its nn/dnn.py (weights, nurons and gradients dicts) and a sigmoid hidden layer instead of "
            "relu. Fixed version = the maintainer's commit (new z argument, call site passes nurons['z2']). "
            "Toy regression y = x1 * x2 on 200 seeded points, full batch, 3000 steps. The buggy run overflows "
            "exp and the loss freezes."
        ),
    },
    {
        "name": "11_kvfrans_bias_mean",
        "source": "https://github.com/kvfrans/notes/issues/5",
        "accepted_answer": (
            "d_b1 = jnp.mean(d_h2, axis=1) should be jnp.sum(d_h2, axis=1): the bias gradient sums the "
            "contributions of all data points, like the weight gradients do (checked against jax.grad)."
        ),
        "bug_class": "mean_vs_sum",
        "buggy_params": ["params[1]"],
        "bug_lines": [27],
        "all_params": ["params[0]", "params[1]", "params[2]"],
        "lr": 0.05,
        "notes": (
            "params = [W1, b1, W2]. jax.numpy replaced by numpy one for one (jnp -> np, jnp.clip relu kept as "
            "h2 * (h2 > 0) as in manual_grad). The notes only compute one gradient (and compare only d_W1 with "
            "jax.grad, which hides the bug); a plain gradient-descent loop of 500 steps with a printed loss is "
            "added. np.random.seed(0) added. The b1 gradient is 10x too small (10 samples), so the buggy script "
            "still converges: the doctor has to see it from the gradient, not from the loss curve."
        ),
    },
    {
        "name": "12_deep_binary_sigmoid_at_z",
        "source": "https://huggingface.co/datasets/nvidia/Nemotron-CC-Math-v1",
        "accepted_answer": (
            "sigmoid_derivative(x) = x * (1 - x) is the derivative written in terms of the activation, but it is "
            "called with Z4; use np.multiply(sigmoid(x), 1 - sigmoid(x)) (or pass A4)."
        ),
        "bug_class": "derivative_at_z",
        "buggy_params": ["W1", "B1", "W2", "B2", "W3", "B3", "W4", "B4"],
        "bug_lines": [31, 55],
        "all_params": ["W1", "B1", "W2", "B2", "W3", "B3", "W4", "B4"],
        "lr": 0.1,
        "notes": (
            "Stack Overflow question 'What's the proper way to do back propagation in deep fully connected "
            "neural network for binary classification' (loss stuck at 0.69321, tiny weight derivatives); the "
            "stored copy is a rewrite in the Nemotron-CC-Math dataset and the original URL is not in it. The post "
            "gives only the forward/backward equations (DeepLearning.ai names Z1..A4, DA4, DZ4, Dw4, Db4, ...); "
            "the script is written from them with tanh hidden layers. The stored copy renders DA4 as "
            "-(Y/A4 + (1-Y)/(1-A4)); written here as the DeepLearning.ai formula -(Y/A4 - (1-Y)/(1-A4)), "
            "taking the '+' for a transcription slip. Layer sizes [2, 10, 10, 10, 1], init * 0.1, learning "
            "rate 0.1 and a seeded two-blob data set are not in the post. 1000 epochs as posted. The buggy loss "
            "creeps up from 0.6936 and ends in nan (overflow warnings)."
        ),
    },
    {
        "name": "13_planar_dW2_for_W2",
        "source": "https://community.deeplearning.ai/t/w3-ex-6-assertionerror-wrong-values-for-dw1/402919",
        "accepted_answer": (
            "The mentor: 'Check the formula of dZ1 again. W2 or dW2?' - the learner had used dW2 where W2 "
            "belongs in dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))."
        ),
        "bug_class": "no_backprop_through_weights",
        "buggy_params": ['parameters["W1"]', 'parameters["b1"]'],
        "bug_lines": [90],
        "all_params": ['parameters["W1"]', 'parameters["b1"]', 'parameters["W2"]', 'parameters["b2"]'],
        "lr": 1.2,
        "notes": (
            "The hidden delta is multiplied by the gradient dW2 instead of the next layer's weights W2 (same "
            "shape, so it runs). The forum removes solution code, so the rest of the Coursera DLS C1W3 'planar "
            "data' functions (load_planar_dataset, initialize_parameters, forward_propagation, compute_cost, "
            "update_parameters with learning_rate = 1.2, nn_model with 10000 iterations) are written in the "
            "assignment's style around the line the thread describes. Cost printed every 1000 iterations; the "
            "buggy cost stays at 0.693."
        ),
    },
    {
        "name": "14_planar_dot_derivative",
        "source": "https://community.deeplearning.ai/t/w3-ex-6-assertionerror-wrong-values-for-dw1/402919",
        "accepted_answer": (
            "dZ1 = np.dot(np.dot(W2.T, dZ2), (1 - np.dot(A1.T, A1))) is wrong: the activation derivative is an "
            "element-wise product, dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))."
        ),
        "bug_class": "other",
        "buggy_params": ['parameters["W1"]', 'parameters["b1"]'],
        "bug_lines": [90],
        "all_params": ['parameters["W1"]', 'parameters["b1"]', 'parameters["W2"]', 'parameters["b2"]'],
        "lr": 1.2,
        "notes": (
            "other = activation derivative built with a matrix product (A1.T @ A1, an m x m matrix) and applied "
            "with np.dot instead of an element-wise product. Second learner in the same thread as case 13; same "
            "reconstructed assignment around the posted line. The (m, m) product makes each buggy iteration "
            "slow: 10000 iterations take 20-120 s depending on load."
        ),
    },
    {
        "name": "15_packt_sigmoid_twice",
        "source": "https://github.com/PacktPublishing/Neural-Network-Projects-with-Python/issues/4",
        "accepted_answer": (
            "Replacing sigmoid_derivative(x) = x * (1 - x) by sigmoid(x) * (1 - sigmoid(x)) is wrong here: it is "
            "called with self.output and self.layer1, which have already been through the sigmoid."
        ),
        "bug_class": "derivative_twice",
        "buggy_params": ["self.weights1", "self.weights2"],
        "bug_lines": [9, 25, 26],
        "all_params": ["self.weights1", "self.weights2"],
        "lr": 1.0,
        "notes": (
            "The buggy file is the book's chapter 1 script with the change the issue proposes; the reply "
            "explains why that change breaks it, so the fixed file is the book's original. No learning rate "
            "(weights += d_weights, the 2 of the squared error included). np.random.seed(0) added. Prints only "
            "the final output, as the book does; the buggy output stays near 0.5."
        ),
    },
    {
        "name": "16_softmax_bias_sum",
        "source": "https://github.com/rasbt/stat453-deep-learning-ss21/issues/5",
        "accepted_answer": (
            "grad_loss_b = -torch.sum(y - probas) sums over all biases at once, so every bias gets the same "
            "value; sum over the samples only (dim=0)."
        ),
        "bug_class": "bias_sum_all_axes",
        "buggy_params": ["self.bias"],
        "bug_lines": [55],
        "all_params": ["self.weights", "self.bias"],
        "lr": 0.1,
        "notes": (
            "Softmax regression with hand-written gradients from the course notebook; the torch tensor calls "
            "are translated one for one into NumPy (torch.mm -> np.dot, .t() -> .T, torch.sum(..., dim) -> "
            "np.sum(..., axis)), float32 kept. Iris (two columns) replaced by three seeded 2-D blobs of 50 "
            "points; 80/20 split and standardisation as in the notebook; zero init, 50 epochs, lr 0.1. Buggy "
            "symptom as in the issue: all three biases end equal (about -4e-09)."
        ),
    },
]
