import { render } from "preact";
import "../shared/style.css";
import { CustomerApp } from "./app";

render(<CustomerApp />, document.getElementById("app")!);
